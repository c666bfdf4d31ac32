// Command failoverd is the health-probe and failover daemon: it probes
// targets, decides what every service name answers and serves it over DNS.
//
//	failoverd run -config PATH        run the daemon
//	failoverd validate -config PATH   check a configuration and exit
//	failoverd import dyn|ultradns FILE...   exports of the hosted products as configuration
//	failoverd version                 print the version
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/daemon"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	stopProfile := startProfile()
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "failoverd %s\n", version)
		return 0
	case "validate":
		return validate(args[1:], stdout, stderr)
	case "run":
		return runDaemon(args[1:], stderr)
	case "import":
		return importExports(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "failoverd: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  failoverd run -config PATH        run the daemon (PATH: a .hcl file or a directory of them)
  failoverd validate -config PATH   check a configuration; prints every problem and exits 1, or nothing and exits 0
  failoverd import dyn|ultradns FILE...  turn Dyn or UltraDNS API exports into configuration on stdout
  failoverd version                 print the version
`)
}

func configFlag(name string, args []string, stderr io.Writer) (string, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/failoverd", "configuration file or directory of *.hcl files")
	if err := fs.Parse(args); err != nil {
		return "", false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "failoverd %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", false
	}
	return *path, true
}

// validate reports what run would refuse: the configuration's own problems
// and then everything the daemon checks before it binds a port (zones,
// files, listen addresses, state directory, PING capability), through the
// same daemon.Prepare that run uses.
func validate(args []string, stdout, stderr io.Writer) int {
	path, ok := configFlag("validate", args, stderr)
	if !ok {
		return 2
	}
	restore := loadingAlone()
	cfg, files, diags := config.Load(path)
	restore()
	if !diags.HasErrors() {
		diags = append(diags, daemon.Check(cfg)...)
	}
	if diags.HasErrors() {
		_ = config.WriteDiagnostics(stdout, files, diags)
		return 1
	}
	return 0
}

// loadMemoryLimit bounds the heap while a configuration loads alone. A load keeps about
// 8 bytes per byte of HCL until the configuration is built, so even the
// largest (64 MB) fits; 100,000 services (18 MB) peak at about 0.8 GB of
// RSS with this limit. Were it exceeded, the collector would run more, not
// fail.
const loadMemoryLimit = 768 << 20

// loadingAlone tunes the collector for config.Load in a process that does
// nothing else meanwhile (validate, and run before the daemon starts), until
// the function it returns is called. Loading allocates several times what
// it keeps, and the default pacing (a cycle each time the heap doubles)
// spends a fifth of a large load's CPU on cycles while the heap is still
// small: the collector runs only when the heap nears loadMemoryLimit
// instead, and both settings are restored after.
func loadingAlone() (restore func()) {
	limit := debug.SetMemoryLimit(-1)
	debug.SetMemoryLimit(min(limit, loadMemoryLimit))
	percent := debug.SetGCPercent(-1)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

func runDaemon(args []string, stderr io.Writer) int {
	path, ok := configFlag("run", args, stderr)
	if !ok {
		return 2
	}
	// Signal handlers come first: loading a large configuration takes
	// seconds, and a SIGHUP meanwhile would otherwise kill the process.
	// A reload asked for during start-up waits in hup until the daemon runs.
	// SIGTERM and SIGINT stop the daemon gracefully.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	restore := loadingAlone()
	cfg, files, diags := config.Load(path)
	restore()
	if diags.HasErrors() {
		_ = config.WriteDiagnostics(stderr, files, diags)
		return 1
	}
	prepared, diags := daemon.Prepare(cfg)
	if diags.HasErrors() {
		_ = config.WriteDiagnostics(stderr, files, diags)
		return 1
	}
	if err := daemon.Main(ctx, daemon.Options{ConfigPath: path, Prepared: prepared, Version: version, Stderr: stderr, Reloads: hup}); err != nil {
		fmt.Fprintf(stderr, "failoverd: %v\n", err)
		return 1
	}
	return 0
}

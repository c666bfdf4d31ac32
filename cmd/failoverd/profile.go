package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// profileEnv names a file to write a CPU profile of the whole process to
// (start-up, reloads and shutdown alike): how the cost of a large
// configuration was measured, see docs/benchmarks.md. It is not an option
// operators need, so it is not a flag.
const profileEnv = "FAILOVERD_CPUPROFILE"

// startProfile starts the CPU profile profileEnv asks for and returns what
// stops it and writes it out.
func startProfile() (stop func()) {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "failoverd: %s: %v\n", profileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// Command benchtool holds the small measuring programs behind bench/run.sh:
//
//	benchtool targets  -addr IP:PORT ...   serve GET /health → 200 "OK" until SIGTERM
//	benchtool wait     -dns ADDR -name N [-want IP] [-since NS]   poll until N answers (IP)
//	benchtool failover -dns ADDR -name N -primary IP -backup IP   kill/restart the primary's
//	                   health target (in-process) and time the answer changing
//	benchtool reload   -dns ADDR -pid PID -names a,b -marker M -want IP   query continuously,
//	                   send SIGHUP, time until M answers IP, count failed queries
//	benchtool sites    -api A,B [-not SITE] [-count N]   poll GET /v1/sites until the
//	                   nodes agree on a leader (not SITE)
//	benchtool listen   -n N -base B -port P   N TCP listeners on 127.B.x.y that accept and close
//	benchtool rusage   CMD ARGS...   run CMD, print wall, CPU and peak RSS
//	benchtool etcdkeys -endpoint URL -prefix P   keys and summed versions per key group
//
// Everything talks to loopback addresses only; every loop is bounded by a
// deadline. Timings are printed, never asserted.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool targets|wait|failover|reload|sites|listen|rusage|etcdkeys [flags]")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "targets":
		err = cmdTargets(args)
	case "wait":
		err = cmdWait(args)
	case "failover":
		err = cmdFailover(args)
	case "reload":
		err = cmdReload(args)
	case "sites":
		err = cmdSites(args)
	case "listen":
		err = cmdListen(args)
	case "rusage":
		err = cmdRusage(args)
	case "etcdkeys":
		err = cmdEtcdKeys(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// Package daemon is failoverd's composition root. Each job has its own type
// and file:
//
//   - prepare.go: Prepare and Check, everything `failoverd run` checks
//     before it binds a port (zones, secrets, GeoIP, listen addresses,
//     state directory, PING), as diagnostics; validate, run and reload share
//     it. build.go turns a config.Config into each package's options.
//   - daemon.go: Daemon builds every part, runs them and stops them in
//     order.
//   - seam.go: the decision loop's two ends: the observations it consumes
//     and the Decision it produces about a decided state.
//   - loop.go: the decision loop, the one owner of the pool engine.
//   - publish.go and serial.go: the publisher applies decisions to DNS
//     (serials that never repeat), the store and the notifiers.
//   - controller.go: api.Controller; operator commands commit first.
//   - commands.go: operator commands as data, run here or, in a
//     deployment, submitted through etcd and applied by the leader.
//   - multisite.go: with an etcd block, the deployment between the loop's
//     ends: rounds are published, the leader decides by quorum and
//     commits, every node serves the committed state (package sites).
//   - reload.go: all-or-nothing reloads on SIGHUP.
//   - metrics.go: the daemon's own Prometheus series.
package daemon

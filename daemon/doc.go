// Package daemon is failoverd's composition root: it turns a config.Config
// into the options of every part (probe, pool, dnsserver, notify, store, api),
// runs them, owns the decision loop that feeds probe results to the pool
// engine and publishes what DNS answers, implements api.Controller, and
// reloads the configuration on SIGHUP.
package daemon

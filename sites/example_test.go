package sites_test

import (
	"context"
	"log"
	"time"

	"github.com/failoverd/failoverd/sites"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// The daemon's wiring, in outline: publish every probe round, decide on
// the leader from every site's reports, commit, and serve what is
// committed. (Compiled, not run: it needs an etcd.)
func ExampleOpen() {
	ctx := context.Background()
	quorum, _ := sites.ParseQuorum("majority")
	var s *sites.Sites
	var err error
	s, err = sites.Open(ctx, sites.Options{
		Endpoints: []string{"http://127.0.0.1:2379"},
		Site:      "ams", Hostname: "ns1.example.net", Version: "1.0", ConfigDigest: "sha256:…",
		OnReports: func(changed map[string][]sites.Report) {
			if !s.IsLeader() {
				return // followers only show the per-site views
			}
			for target, reports := range changed {
				d := sites.Decide(quorum, reports)
				_ = target
				_ = d // feed the decision engine; Commit its outcome with the events
			}
		},
		OnCommitted: func(c sites.Committed) {
			// Serve c.State and c.Serials (replace everything when c.Full)
			// and keep them in the local store for a start without etcd.
		},
		OnLeader: func(leader bool) {
			if leader {
				events, _ := s.Undelivered(ctx) // send them, then MarkDelivered
				_ = events
			}
		},
		OnCommand: func(c sites.Command) {
			// Apply the operator command, then commit it done:
			_, _ = s.Commit(ctx, sites.Batch{Done: []sites.Done{{ID: c.ID}}})
		},
		OnConnection: func(c sites.Connection) {
			// c.Partitioned: apply etcd.on_partition (local | freeze).
		},
	}, zap.NewNop(), prometheus.NewRegistry())
	if err != nil {
		log.Fatal(err) // a duplicate site, wrong credentials, TLS, ...
	}
	defer s.Close()
	go func() { _ = s.Run(ctx) }()

	s.Publish(sites.Observation{Target: "HTTP|192.0.2.10:80|/", Status: sites.StatusDown,
		Message: "connection refused", Time: time.Now()})
}

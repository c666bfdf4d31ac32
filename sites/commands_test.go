package sites

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// applyCommands plays the leader's daemon: every command handed to it is
// committed with a state change naming it, or refused when it says so.
func applyCommands(t *testing.T, n *node) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case c := <-n.rec.commands:
				b := Batch{Done: []Done{{ID: c.ID, Result: []byte("applied " + string(c.Data))}}}
				if strings.HasPrefix(string(c.Data), "refuse") {
					b.Done[0] = Done{ID: c.ID, Error: "unknown service"}
				} else {
					b.State = map[string][]byte{"override/" + string(c.Data): c.Data}
				}
				if _, err := n.s.Commit(ctx, b); err != nil && ctx.Err() == nil {
					t.Errorf("leader commit of command %d: %v", c.ID, err)
				}
			}
		}
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func TestCommands_AcceptedOnAnyNodeCommittedByTheLeader(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	b := openNode(t, eps, prefix, "fra")
	leader := leaderOf(t, 10*time.Second, a, b)
	follower := a
	if leader == a {
		follower = b
	}
	applyCommands(t, leader)
	eventually(t, 5*time.Second, "follower connected", func() bool { return follower.s.Connection().Connected })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ids []uint64
	for i, n := range []*node{follower, leader, follower} {
		data := fmt.Sprintf("disable-%d", i)
		j, err := n.s.Submit(ctx, []byte(data))
		if err != nil {
			t.Fatalf("submit on %s: %v", n.s.o.Site, err)
		}
		if j.Error != "" || string(j.Result) != "applied "+data || j.Site != n.s.o.Site {
			t.Fatalf("job %+v", j)
		}
		// Returned only once this node holds the committed change.
		if got := string(n.s.Snapshot().State["override/"+data]); got != data {
			t.Fatalf("after Submit on %s the state has %q, want %q", n.s.o.Site, got, data)
		}
		ids = append(ids, j.ID)
	}
	if !slices.IsSorted(ids) || ids[0] == ids[1] || ids[1] == ids[2] {
		t.Errorf("job ids %v: want unique and increasing across nodes", ids)
	}
	j, err := follower.s.Submit(ctx, []byte("refuse-me"))
	if err != nil {
		t.Fatal(err)
	}
	if j.Error != "unknown service" {
		t.Errorf("refused command: %+v", j)
	}
	got, ok, err := leader.s.Job(ctx, ids[0])
	if err != nil || !ok || string(got.Data) != "disable-0" {
		t.Errorf("Job(%d) = %+v %v %v", ids[0], got, ok, err)
	}
}

func TestCommands_QueuedWithoutALeaderAreAppliedByTheNextOne(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	leaderOf(t, 10*time.Second, a)
	eventually(t, 5*time.Second, "connected", func() bool { return a.s.Connection().Connected })
	// The leader takes the command but dies before committing it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := openNode(t, eps, prefix, "fra")
	eventually(t, 5*time.Second, "fra connected", func() bool { return b.s.Connection().Connected })
	type result struct {
		j   Job
		err error
	}
	res := make(chan result, 1)
	go func() {
		j, err := b.s.Submit(ctx, []byte("drain-1"))
		res <- result{j, err}
	}()
	c, err := recvCommand(a, 10*time.Second)
	if err != nil {
		t.Fatal("the leader was not handed the command")
	}
	a.crash()
	leaderOf(t, 10*time.Second, b)
	applyCommands(t, b)
	r := <-res
	if r.err != nil {
		t.Fatalf("submit: %v", r.err)
	}
	if r.j.ID != c.ID || string(r.j.Result) != "applied drain-1" {
		t.Fatalf("job %+v, want command %d applied by the new leader", r.j, c.ID)
	}
}

func TestCommands_SubmitGivesUpWithItsContext(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams", func(o *Options) { o.OnCommand = nil }) // a leader that never applies
	leaderOf(t, 10*time.Second, a)
	eventually(t, 5*time.Second, "connected", func() bool { return a.s.Connection().Connected })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	j, err := a.s.Submit(ctx, []byte("x"))
	if !errors.Is(err, context.DeadlineExceeded) || j.ID == 0 {
		t.Fatalf("Submit = %+v, %v; want the job id and a deadline error", j, err)
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if len(a.s.waiters) != 0 {
		t.Errorf("%d waiters left behind", len(a.s.waiters))
	}
}

func TestEvents_NewLeaderSendsWhatTheOldOneDidNotDeliver(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	b := openNode(t, eps, prefix, "fra")
	old := leaderOf(t, 10*time.Second, a, b)
	next := a
	if old == a {
		next = b
	}
	ctx := context.Background()
	res, err := old.s.Commit(ctx, Batch{
		State: map[string][]byte{"app.example.com.": []byte(`{"status":"failover"}`)},
		Events: []EventData{
			{Data: []byte("192.0.2.1 up->down")},
			{Data: []byte("192.0.2.2 up->down")},
			{Data: []byte("app failover")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 3 || !slices.IsSorted(res.Events) {
		t.Fatalf("event ids %v", res.Events)
	}
	// The old leader sends the first one, then dies.
	if err := old.s.MarkDelivered(ctx, res.Events[0]); err != nil {
		t.Fatal(err)
	}
	old.crash()
	leaderOf(t, 10*time.Second, next)
	und, err := next.s.Undelivered(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range und {
		got = append(got, string(e.Data))
	}
	if want := []string{"192.0.2.2 up->down", "app failover"}; !slices.Equal(got, want) {
		t.Fatalf("undelivered %q, want %q", got, want)
	}
	// The new leader's events sort after the old leader's.
	r2, err := next.s.Commit(ctx, Batch{Events: []EventData{{Data: []byte("later")}}})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Events[0] <= res.Events[2] {
		t.Errorf("new leader's event id %s does not sort after %s", r2.Events[0], res.Events[2])
	}
	if err := next.s.MarkDelivered(ctx, und[0].ID, und[1].ID, r2.Events[0]); err != nil {
		t.Fatal(err)
	}
	if und, err := next.s.Undelivered(ctx); err != nil || len(und) != 0 {
		t.Errorf("after marking: %d undelivered, %v", len(und), err)
	}
	// Followers got the events with the committed state.
	eventually(t, 5*time.Second, "events reach the watch", func() bool {
		return len(next.s.Snapshot().Events) == 4
	})
	// A node that joins reads what was committed after its mark, delivered
	// or not, in commit order.
	for _, tc := range []struct {
		after string
		want  []string
	}{
		{"", []string{"192.0.2.1 up->down", "192.0.2.2 up->down", "app failover", "later"}},
		{res.Events[1], []string{"app failover", "later"}},
		{r2.Events[0], nil},
	} {
		evs, err := next.s.EventsAfter(ctx, tc.after)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, string(e.Data))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("events after %q: %q, want %q", tc.after, got, tc.want)
		}
	}
}

func TestPrune_DropsDeliveredEventsAndFinishedJobsPastRetention(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	leaderOf(t, 10*time.Second, a)
	applyCommands(t, a)
	eventually(t, 5*time.Second, "connected", func() bool { return a.s.Connection().Connected })
	ctx := context.Background()
	res, err := a.s.Commit(ctx, Batch{Events: []EventData{{Data: []byte("sent")}, {Data: []byte("unsent")}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.s.MarkDelivered(ctx, res.Events[0]); err != nil {
		t.Fatal(err)
	}
	j, err := a.s.Submit(ctx, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the mark reaches the view", func() bool {
		for _, e := range a.s.Snapshot().Events {
			if e.ID == res.Events[0] && e.Delivered {
				return true
			}
		}
		return false
	})
	if err := a.s.prune(ctx, time.Now().Add(2*DefaultRetention)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "pruned", func() bool {
		s := a.s.Snapshot()
		return len(s.Events) == 1 && len(s.Jobs) == 0
	})
	if e := a.s.Snapshot().Events[0]; string(e.Data) != "unsent" {
		t.Errorf("kept %q, want the undelivered event", e.Data)
	}
	if _, ok, _ := a.s.Job(ctx, j.ID); ok {
		t.Error("the old job survived pruning")
	}
}

func TestCommands_LeaderMayCommitFromInsideOnCommand(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	var self *Sites
	commit := func(c Command) {
		// The daemon's simplest shape: apply and commit on the callback
		// goroutine itself.
		if _, err := self.Commit(context.Background(), Batch{
			State: map[string][]byte{"svc": c.Data},
			Done:  []Done{{ID: c.ID}},
		}); err != nil {
			t.Errorf("commit from OnCommand: %v", err)
		}
	}
	a := openNode(t, eps, prefix, "ams", func(o *Options) { o.OnCommand = commit })
	self = a.s
	leaderOf(t, 10*time.Second, a)
	b := openNode(t, eps, prefix, "fra")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		data := []byte(fmt.Sprint("v", i))
		if _, err := b.s.Submit(ctx, data); err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
		if got := b.s.Snapshot().State["svc"]; string(got) != string(data) {
			t.Fatalf("after submit %d the follower serves %q", i, got)
		}
	}
}

func TestClaim_FirstNodesValueIsEveryNodes(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	b := openNode(t, eps, prefix, "fra")
	ctx := context.Background()
	got, err := a.s.Claim(ctx, "dnssec/example.com./ksk", []byte("key from ams"))
	if err != nil || string(got) != "key from ams" {
		t.Fatalf("first claim: %q %v", got, err)
	}
	got, err = b.s.Claim(ctx, "dnssec/example.com./ksk", []byte("key from fra"))
	if err != nil || string(got) != "key from ams" {
		t.Fatalf("second claim: %q %v, want the first node's key", got, err)
	}
}

func TestCommit_DoneForACommandNotQueuedIsRefusedWhole(t *testing.T) {
	eps := sharedCluster(t)
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams")
	leaderOf(t, 10*time.Second, a)
	_, err := a.s.Commit(context.Background(), Batch{State: map[string][]byte{"svc": []byte("x")}, Done: []Done{{ID: 999999}}})
	if err == nil || !strings.Contains(err.Error(), "not queued") {
		t.Fatalf("err = %v, want a command that is not queued", err)
	}
	res, err := a.s.Commit(context.Background(), Batch{Serials: map[string]uint32{"example.com.": 1}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the later commit arrives", func() bool { return a.s.Snapshot().Revision >= res.Revision })
	if _, ok := a.s.Snapshot().State["svc"]; ok {
		t.Error("part of the refused batch was committed")
	}
}

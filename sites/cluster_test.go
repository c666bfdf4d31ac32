package sites

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestCluster_ThreeMemberEtcdLosingOneKeepsWorking(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-member etcd cluster")
	}
	c := startEtcd(t, 3)
	eps := c.endpoints()
	prefix := testPrefix(t)
	a := openNode(t, eps, prefix, "ams", func(o *Options) { o.LeaseTTL = 3 * time.Second })
	b := openNode(t, eps, prefix, "fra", func(o *Options) { o.LeaseTTL = 3 * time.Second })
	leader := leaderOf(t, 10*time.Second, a, b)
	follower := a
	if leader == a {
		follower = b
	}
	applyCommands(t, leader)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	commit := func(i int) {
		t.Helper()
		res, err := leader.s.Commit(ctx, Batch{State: map[string][]byte{"svc": []byte(fmt.Sprint(i))}, Serials: map[string]uint32{"example.com.": uint32(i)}})
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		eventually(t, 10*time.Second, "the follower holds the commit", func() bool {
			s := follower.s.Snapshot()
			return s.Revision >= res.Revision && s.Serials["example.com."] == uint32(i)
		})
	}
	commit(1)

	// Kill one member (the first endpoint of both nodes' lists): the
	// remaining two keep quorum.
	c.members[0].Kill()
	commit(2)
	follower.s.Publish(Observation{Target: "t1", Status: StatusDown, Message: "timeout"})
	eventually(t, 10*time.Second, "an observation still reaches the leader", func() bool {
		rs := leader.s.Reports("t1")
		return len(rs) == 1 && rs[0].Status == StatusDown
	})
	j, err := follower.s.Submit(ctx, []byte("after-member-loss"))
	if err != nil || j.Error != "" {
		t.Fatalf("submit after losing a member: %+v %v", j, err)
	}
	// Leadership held throughout: no lease was lost.
	if !leader.s.IsLeader() || follower.s.IsLeader() {
		t.Error("leadership moved while etcd kept quorum")
	}
	for _, n := range []*node{a, b} {
		eventually(t, 10*time.Second, n.s.o.Site+" connected with two of three members up", func() bool {
			return n.s.Connection().Connected
		})
	}
}

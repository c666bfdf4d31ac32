package sites

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Status is what one site's probes say about a target.
type Status string

// The statuses a site reports; the strings are the pool's address statuses.
const (
	StatusUnknown Status = "unk"
	StatusUp      Status = "up"
	StatusDown    Status = "down"
)

// Quorum is how many of the live sites that have reported on an address
// must report it down for the deployment to call it down (etcd.quorum).
type Quorum struct {
	// Mode is QuorumMajority, QuorumAny, QuorumAll or QuorumCount.
	Mode string
	// N is the count for QuorumCount (at least 1).
	N int
}

// The quorum modes of etcd.quorum; a number is QuorumCount.
const (
	QuorumMajority = "majority"
	QuorumAny      = "any"
	QuorumAll      = "all"
	QuorumCount    = "count"
)

// ParseQuorum reads etcd.quorum: "majority", "any", "all" or a number
// N >= 1.
func ParseQuorum(s string) (Quorum, error) {
	switch s {
	case QuorumMajority, QuorumAny, QuorumAll:
		return Quorum{Mode: s}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return Quorum{}, fmt.Errorf("quorum %q: want majority, any, all or a number >= 1", s)
	}
	return Quorum{Mode: QuorumCount, N: n}, nil
}

// String returns the quorum as written in the configuration.
func (q Quorum) String() string {
	if q.Mode == QuorumCount {
		return strconv.Itoa(q.N)
	}
	return q.Mode
}

// SensitivityQuorum is the quorum an sf_pool's region_failure_sensitivity
// stands for: LOW needs every live site to report down, HIGH at least two
// (or every one, when fewer than two have reported).
func SensitivityQuorum(sensitivity string) (Quorum, error) {
	switch strings.ToUpper(sensitivity) {
	case "LOW":
		return Quorum{Mode: QuorumAll}, nil
	case "HIGH":
		return Quorum{Mode: QuorumCount, N: 2}, nil
	}
	return Quorum{}, fmt.Errorf("region_failure_sensitivity %q: want LOW or HIGH", sensitivity)
}

// Decision is the deployment's verdict on one address.
type Decision struct {
	// Status is StatusDown when the quorum of reporting sites says down,
	// StatusUp when some site reported and the quorum is not reached, and
	// StatusUnknown when no live site has reported yet.
	Status Status
	// Sites are the sites whose reports decided it, sorted: the sites
	// reporting down for a down verdict, the sites reporting up otherwise
	// (the %sit of a notification).
	Sites []string
	// Message is the message of the first of Sites.
	Message string
}

// Decide applies q to the reports of the live sites on one address. A
// report with StatusUnknown (a site that has not finished a round yet)
// does not count: the base is the sites that have reported up or down.
// Down needs at least:
//   - majority: more than half of them;
//   - any: one;
//   - all: every one;
//   - N: N, or every one when fewer than N have reported.
func Decide(q Quorum, reports []Report) Decision {
	var up, down []Report
	for _, r := range reports {
		switch r.Status {
		case StatusUp:
			up = append(up, r)
		case StatusDown:
			down = append(down, r)
		}
	}
	reporting := len(up) + len(down)
	if reporting == 0 {
		return Decision{Status: StatusUnknown}
	}
	if len(down) >= q.needed(reporting) {
		return decision(StatusDown, down)
	}
	return decision(StatusUp, up)
}

// needed is how many down reports out of reporting make an address down.
func (q Quorum) needed(reporting int) int {
	switch q.Mode {
	case QuorumAny:
		return 1
	case QuorumAll:
		return reporting
	case QuorumCount:
		return max(1, min(q.N, reporting))
	default: // majority; the zero Quorum is the configuration's default
		return reporting/2 + 1
	}
}

func decision(st Status, rs []Report) Decision {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b Report) int { return strings.Compare(a.Site, b.Site) })
	d := Decision{Status: st, Sites: make([]string, len(rs))}
	for i, r := range rs {
		d.Sites[i] = r.Site
	}
	if len(rs) > 0 {
		d.Message = rs[0].Message
	}
	return d
}

// MedianRTT is the median of the sites' response times (each site's own
// median over its rounds), ignoring sites without one; the mean of the
// two middle values for an even count. ok is false when no site has one.
func MedianRTT(reports []Report) (median time.Duration, ok bool) {
	var d []time.Duration
	for _, r := range reports {
		if r.RTT > 0 {
			d = append(d, r.RTT)
		}
	}
	if len(d) == 0 {
		return 0, false
	}
	slices.Sort(d)
	n := len(d)
	if n%2 == 1 {
		return d[n/2], true
	}
	return (d[n/2-1] + d[n/2]) / 2, true
}

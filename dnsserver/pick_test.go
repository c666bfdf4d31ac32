package dnsserver

import (
	"fmt"
	"math"
	"testing"

	"github.com/miekg/dns"
)

func TestPickWeightedWithoutReplacement(t *testing.T) {
	cases := []struct {
		name    string
		weights []uint32
		k       int
		want    int
	}{
		{"ServeCountOne", []uint32{1, 2, 3}, 1, 1},
		{"ServeCountTwo", []uint32{1, 2, 3}, 2, 2},
		{"ServeCountAboveSize", []uint32{1, 2}, 5, 2},
		{"ServeCountZeroIsAll", []uint32{5, 1, 1, 9}, 0, 4},
		{"Empty", nil, 2, 0},
		{"LargeSet", make100(), 10, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 200 {
				got := pickWeighted(tc.weights, tc.k, nil)
				if len(got) != tc.want {
					t.Fatalf("picked %d, want %d", len(got), tc.want)
				}
				seen := map[int]bool{}
				for _, i := range got {
					if i < 0 || i >= len(tc.weights) || seen[i] {
						t.Fatalf("bad or repeated index in %v", got)
					}
					seen[i] = true
				}
			}
		})
	}
}

func make100() []uint32 {
	ws := make([]uint32, 100)
	for i := range ws {
		ws[i] = uint32(i%15 + 1)
	}
	return ws
}

// expectedShares computes each index's probability of being among k
// weighted draws without replacement, exactly, by recursion.
func expectedShares(ws []uint32, k int) []float64 {
	p := make([]float64, len(ws))
	var rec func(used uint64, left int, prob float64)
	rec = func(used uint64, left int, prob float64) {
		if left == 0 {
			return
		}
		var total float64
		for i, w := range ws {
			if used&(1<<i) == 0 {
				total += float64(w)
			}
		}
		for i, w := range ws {
			if used&(1<<i) != 0 {
				continue
			}
			q := prob * float64(w) / total
			p[i] += q
			rec(used|1<<i, left-1, q)
		}
	}
	rec(0, k, 1)
	return p
}

// TestPickWeightedProportions checks over 10,000 answers that each record's
// share is within 3 percentage points of its exact expected share.
func TestPickWeightedProportions(t *testing.T) {
	cases := []struct {
		name    string
		weights []uint32
		k       int
	}{
		{"Weight10TwiceWeight5", []uint32{10, 5}, 1},
		{"ThreeUnequalOneEach", []uint32{1, 2, 7}, 1},
		{"TwoOfFour", []uint32{15, 5, 5, 1}, 2},
		{"EqualWeights", []uint32{1, 1, 1, 1, 1}, 1},
	}
	const draws = 10000
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			counts := make([]int, len(tc.weights))
			for range draws {
				for _, i := range pickWeighted(tc.weights, tc.k, nil) {
					counts[i]++
				}
			}
			want := expectedShares(tc.weights, tc.k)
			for i, c := range counts {
				got := float64(c) / draws
				if math.Abs(got-want[i]) > 0.03 {
					t.Errorf("index %d (weight %d): share %.3f, want %.3f ± 0.03", i, tc.weights[i], got, want[i])
				}
			}
		})
	}
}

func TestPickFirstDrawProportionalToWeight(t *testing.T) {
	// The first record of an all-records answer is drawn in proportion to weight.
	ws := []uint32{10, 5, 5}
	const draws = 10000
	first := make([]int, len(ws))
	for range draws {
		first[pickWeighted(ws, 0, nil)[0]]++
	}
	for i, want := range []float64{0.5, 0.25, 0.25} {
		if got := float64(first[i]) / draws; math.Abs(got-want) > 0.03 {
			t.Errorf("index %d first %.3f of the time, want %.2f", i, got, want)
		}
	}
}

// BenchmarkPickRegion16ServeCount2 is one answer selection for a region of
// 16 entries with serve_count 2.
func BenchmarkPickRegion16ServeCount2(b *testing.B) {
	snap := &Snapshot{Zones: []ZoneSnapshot{{Data: mustLoad(b, ZoneConfig{Origin: "example.com.", Hostname: "ns1.example.com."}), Names: map[string]*Dynamic{}}}}
	ra := &RegionAnswer{ServeCount: 2}
	for i := range 16 {
		ra.A = append(ra.A, w(fmt.Sprintf("192.0.2.%d", i+1), uint32(i%15+1)))
	}
	snap.Zones[0].Names["app.example.com."] = &Dynamic{TTL: 5, Regions: map[string]*RegionAnswer{"global": ra}}
	pr := prepare(snap).zones["example.com."].dyn["app.example.com."].global
	b.ReportAllocs()
	for b.Loop() {
		out := pick(make([]dns.RR, 0, 2), pr.a, pr.aw, pr.ac, pr.serveCount)
		if len(out) != 2 {
			b.Fatal(len(out))
		}
	}
}

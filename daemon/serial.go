package daemon

import (
	"fmt"
	"time"

	"github.com/failoverd/failoverd/store"
)

// serialMargin is how many serials one write of the high-water mark covers.
// Like BIND's and Knot's serial policies, the daemon saves a mark above
// every serial it may publish before publishing it; a restart (or a crash at
// any point) starts above the mark, so a serial never goes back and is never
// reused with other content. A larger margin means fewer synced writes on
// the publish path and a larger jump at a restart.
const serialMargin = 64

// serials are the zones' high-water marks: no serial above a zone's mark
// is ever published. The store's serial of a zone is its mark; hw starts
// as the stored marks and is raised only after the store has them.
type serials struct {
	store stateStore
	hw    map[string]uint32
}

// startSerial is the first serial of a zone in this run: above every serial
// a previous run may have published (its mark hw), and at least YYYYMMDD00
// of today.
func startSerial(hw uint32, known bool, now time.Time) uint32 {
	s := dateSerial(now)
	if known && hw+1 > s {
		s = hw + 1
	}
	return s
}

// reserve raises the mark of every zone in want whose wanted serial is
// above its mark, in one synced commit, before any of them is published.
// On an error no mark moved and nothing above the old marks may be
// published.
func (s *serials) reserve(want map[string]uint32) error {
	var raise map[string]uint32
	for origin, serial := range want {
		if hw, ok := s.hw[origin]; ok && serial <= hw {
			continue
		}
		if raise == nil {
			raise = map[string]uint32{}
		}
		raise[origin] = serial + serialMargin
	}
	if raise == nil {
		return nil
	}
	if err := s.store.Commit(store.Batch{Serials: raise}); err != nil {
		return fmt.Errorf("saving the serial high-water mark: %w", err)
	}
	for origin, hw := range raise {
		s.hw[origin] = hw
	}
	return nil
}

// dateSerial is YYYYMMDD00 of now (UTC).
func dateSerial(now time.Time) uint32 {
	y, m, day := now.UTC().Date()
	return uint32(y*1000000 + int(m)*10000 + day*100)
}

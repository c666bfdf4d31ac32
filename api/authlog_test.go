package api

import (
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestFailedAuthenticationLogAllowsFivePerMinuteThenSumsUp(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	a := &authFailureLog{log: zap.New(core), now: func() time.Time { return now }}
	r := httptest.NewRequest("GET", "/v1/services", nil)
	steps := []struct {
		advance             time.Duration
		failures            int
		wantLogged, wantSum int // entries after the step
	}{
		{0, 3, 3, 0},
		{10 * time.Second, 20, 5, 0}, // the minute's budget is spent
		{50 * time.Second, 1, 6, 1},  // a new minute: the 18 left out are summed up, this one logged
		{30 * time.Second, 4, 10, 1}, // same minute: within the budget
		{time.Minute, 1, 11, 1},      // nothing was left out: no summary
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		for range st.failures {
			a.failed(r, "wrong token")
		}
		logged := logs.FilterMessage("api authentication failed").Len()
		sums := logs.FilterMessage("api authentication failures not logged")
		if logged != st.wantLogged || sums.Len() != st.wantSum {
			t.Fatalf("step %d: %d logged, %d summaries; want %d, %d", i, logged, sums.Len(), st.wantLogged, st.wantSum)
		}
	}
	if n := logs.FilterMessage("api authentication failures not logged").All()[0].ContextMap()["count"]; n != int64(18) {
		t.Errorf("summary count %v, want 18", n)
	}
}

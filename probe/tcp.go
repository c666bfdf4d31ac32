package probe

import (
	"context"
	"time"
)

// probeTCP is up when the target accepts a TCP connection.
func (o ProberOptions) probeTCP(ctx context.Context, t Target) Result {
	t = t.WithDefaults()
	start := time.Now()
	conn, err := o.dial(ctx, t)
	if err != nil {
		return failure(ctx, t, start, err)
	}
	rtt := time.Since(start)
	_ = conn.Close()
	return Result{Target: t, Up: true, RTT: rtt, Time: time.Now()}
}

package apitest

import (
	"context"
	"testing"
	"time"

	"github.com/failoverd/failoverd/api"
)

// Run runs srv until the test ends and returns once it listens; a server
// that fails to start or stops with an error fails the test.
func Run(t testing.TB, srv *api.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		done <- err // for the cleanup
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready")
	}
}

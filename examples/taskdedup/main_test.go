package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The example runs end to end: every task is stored exactly once, and the
// stalled worker's stale write is refused by its token.
func TestTasksDoneOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, options{tasks: 30, workers: 6, ttl: 500 * time.Millisecond, seed: 1}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"each stored exactly once: true", "stale writes refused: 1", "stale write refused"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

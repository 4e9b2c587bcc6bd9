package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// The example runs end to end: the fill runs about once per expiry, far
// fewer times than readers found the entry stale, and never while it was
// fresh.
func TestFillOncePerExpiry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	o := options{duration: 2 * time.Second, fresh: 400 * time.Millisecond, fill: 30 * time.Millisecond, readers: 8}
	if err := run(ctx, &out, o); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	m := regexp.MustCompile(`^(\d+) reads .* (\d+) fills .* redundant fills: 0\n$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("unexpected output %q", out.String())
	}
	reads, _ := strconv.Atoi(m[1])
	fills, _ := strconv.Atoi(m[2])
	if fills < 2 || reads < 10*fills {
		t.Fatalf("%d fills for %d reads: want a few fills, many reads", fills, reads)
	}
}

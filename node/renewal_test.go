package node

import (
	"testing"
	"time"
)

// TestRenewalLatencyHistogram checks the bucketing of latencyHist: a
// duration lands in the first bucket whose bound is at least it, counts
// are cumulative, and one above every bound is counted only in Count.
func TestRenewalLatencyHistogram(t *testing.T) {
	var h latencyHist
	for _, d := range []time.Duration{100 * time.Microsecond, 250 * time.Microsecond, time.Millisecond, time.Minute, -time.Second} {
		h.observe(d)
	}
	l := h.snapshot()
	if l.Count != 5 {
		t.Fatalf("Count %d, want 5", l.Count)
	}
	if want := 100*time.Microsecond + 250*time.Microsecond + time.Millisecond + time.Minute; l.Sum != want {
		t.Errorf("Sum %v, want %v (a negative duration counts as 0)", l.Sum, want)
	}
	// Bounds: 0.25ms, 0.5ms, 1ms, ...
	if l.Buckets[0] != 3 || l.Buckets[1] != 3 || l.Buckets[2] != 4 || l.Buckets[len(l.Buckets)-1] != 4 {
		t.Errorf("Buckets %v, want 3 3 4 ... 4", l.Buckets)
	}
	if len(l.Buckets) != len(LatencyBuckets) || LatencyBuckets[2] != time.Millisecond {
		t.Errorf("%d buckets, bounds %v", len(l.Buckets), LatencyBuckets)
	}
}

// TestRenewalLatencyMeasured checks that a held lease's renewals are
// timed: Stats.Renewal counts them, with a positive total below the
// time the lease has been held.
func TestRenewalLatencyMeasured(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x"}, nil)
	x := c.nodes["x"]
	held := time.Now()
	l := mustAcquire(t, x, "renewed", WithTTL(200*time.Millisecond))
	first := l.Deadline()
	if before := x.Stats().Renewal.Count; before != 0 {
		t.Fatalf("%d renewals counted before any", before)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	limit := time.After(20 * time.Second)
	for x.Stats().Renewal.Count < 2 {
		select {
		case <-tick.C:
		case <-limit:
			t.Fatalf("no two renewals timed in 20s (deadline moved from %v to %v)", first, l.Deadline())
		case <-l.Done():
			t.Fatalf("lease ended: %v", l.Err())
		}
	}
	r := x.Stats().Renewal
	if r.Sum <= 0 || r.Sum > time.Since(held) {
		t.Errorf("renewal latency sum %v for %d renewals in %v", r.Sum, r.Count, time.Since(held))
	}
	for i := 1; i < len(r.Buckets); i++ {
		if r.Buckets[i] < r.Buckets[i-1] || r.Buckets[i] > r.Count {
			t.Fatalf("buckets not cumulative within Count %d: %v", r.Count, r.Buckets)
		}
	}
	if !l.Deadline().After(first) {
		t.Errorf("deadline %v not extended past %v", l.Deadline(), first)
	}
}

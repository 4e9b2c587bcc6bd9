package node

import (
	"testing"
	"time"
)

// A holder with a lock delay crashes: the voters keep the name blocked for
// the TTL and then the delay, so the waiter's tenure begins after the
// crashed holder's deadline plus the delay (without the delay it would
// begin just after the deadline).
func TestLockDelayAfterCrash(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x", "y"}, nil)
	x, y := c.nodes["x"], c.nodes["y"]
	const ttl, delay = 500 * time.Millisecond, time.Second
	l := mustAcquire(t, x, "res", WithTTL(ttl), WithLockDelay(delay))
	got := make(chan *Lease, 1)
	go func() {
		l2, err := y.Acquire(ctx(t, 20*time.Second), "res", WithTTL(ttl))
		if err != nil {
			t.Errorf("y: Acquire: %v", err)
		}
		got <- l2
	}()
	c.stop("x")
	l2 := <-got
	if l2 == nil {
		t.FailNow()
	}
	// The voters' exclusion outlasts x's deadline (R8); the delay follows
	// it. Both instants are on this process's clock.
	if earliest := l.Deadline().Add(delay); l2.acquiredAt.Before(earliest) {
		t.Fatalf("y acquired %v before x's deadline plus the lock delay", earliest.Sub(l2.acquiredAt))
	}
	if l2.Token() <= l.Token() {
		t.Fatalf("token %d not above %d", l2.Token(), l.Token())
	}
}

// A release ends the tenure without the delay: the waiter gets the lease
// within a few round trips, long before the TTL or the delay would allow.
func TestLockDelayNotAfterRelease(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x", "y"}, nil)
	x, y := c.nodes["x"], c.nodes["y"]
	const long = 20 * time.Second
	l := mustAcquire(t, x, "res", WithTTL(long), WithLockDelay(long))
	got := make(chan *Lease, 1)
	go func() {
		l2, err := y.Acquire(ctx(t, 10*time.Second), "res")
		if err != nil {
			t.Errorf("y did not get the released lease before its 10s deadline (TTL and delay 20s each): %v", err)
		}
		got <- l2
	}()
	if h, err := y.Holder(ctx(t, 10*time.Second), "res"); err != nil || h.Node != "x" {
		t.Fatalf("Holder = %+v, %v; want x", h, err)
	}
	if err := l.Release(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if l2 := <-got; l2 != nil && l2.Token() <= l.Token() {
		t.Fatalf("token %d not above %d", l2.Token(), l.Token())
	}
}

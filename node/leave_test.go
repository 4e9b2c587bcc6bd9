package node

import (
	"context"
	"errors"
	"testing"
	"time"
)

// R15 (issue 11.4): Leave is not the holder's decision, so it frees no
// lease early. A waiter on another node is granted no earlier than the
// holder's Deadline (the voters keep the lease until it expires there),
// and within a generous bound after it.
func TestLeaveDoesNotFreeHeldLease(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x", "y"}, nil)
	x, y := c.nodes["x"], c.nodes["y"]
	const ttl = 2 * time.Second
	l := mustAcquire(t, x, "job", WithTTL(ttl))
	got := make(chan *Lease, 1)
	errc := make(chan error, 1)
	go func() {
		l2, err := y.Acquire(ctx(t, 30*time.Second), "job", WithTTL(ttl))
		if err != nil {
			errc <- err
			return
		}
		got <- l2
	}()
	if err := x.Leave(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	delete(c.nodes, "x")
	if !errors.Is(l.Err(), ErrClosed) {
		t.Fatalf("holder's tenure after Leave: %v, want ErrClosed", l.Err())
	}
	deadline := l.Deadline() // final: no renewal after Leave
	select {
	case l2 := <-got:
		// Both instants are on this process's clock.
		if l2.acquiredAt.Before(deadline) {
			t.Fatalf("y was granted the lease %v before x's deadline: Leave freed it early", deadline.Sub(l2.acquiredAt))
		}
		if l2.Token() <= l.Token() {
			t.Fatalf("token %d not above %d", l2.Token(), l.Token())
		}
	case err := <-errc:
		t.Fatalf("y was not granted the lease within 30s of a TTL of %v: %v", ttl, err)
	}
}

// R15, R10 (issue 11.4): a tenure its own loss timer already ended is
// never released by a later Leave: the voters still hold it afterwards.
// x's clock is a mock moved past the deadline while its owner goroutine is
// blocked, so the loss is the timer's, not the network's; the voters run
// on real time and keep the lease for its full TTL.
func TestLeaveAfterLossReleasesNothing(t *testing.T) {
	c, x, mock := mockClockNode(t)
	defer x.Shutdown()
	const ttl = 20 * time.Second // the voters' exclusion, in real time: ample for the checks below
	l, err := x.Acquire(ctx(t, 10*time.Second), "kept", WithTTL(ttl))
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	block := make(chan struct{})
	blocked := make(chan struct{})
	go x.do(context.Background(), func() { close(blocked); <-block })
	<-blocked
	mock.Add(l.Deadline().Sub(mock.Now()) + time.Millisecond)
	select {
	case <-l.Done():
	case <-time.After(20 * time.Second):
		close(block)
		t.Fatal("the lease's own timer did not end it")
	}
	close(block)
	if !errors.Is(l.Err(), ErrLost) {
		t.Fatalf("Err %v, want ErrLost", l.Err())
	}
	if err := x.Leave(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Had Leave (or the loss) released it, a majority would know no holder.
	h, err := c.nodes["b"].Holder(ctx(t, 10*time.Second), "kept")
	if err != nil {
		t.Fatalf("Holder after x's loss and Leave: %v (the lease was released)", err)
	}
	if h.Node != "x" || h.Token != l.Token() {
		t.Fatalf("Holder = %+v, want x's tenure %d", h, l.Token())
	}
}

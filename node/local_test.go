package node

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Several goroutines of one process asking one node for one name are
// served one after another: exclusion holds locally too.
func TestLocalCallersQueue(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	a := c.nodes["a"]
	var (
		inside atomic.Int32
		wg     sync.WaitGroup
		mu     sync.Mutex
		tokens []uint64
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				l, err := a.Acquire(ctx(t, 20*time.Second), "local")
				if err != nil {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
				if k := inside.Add(1); k != 1 {
					t.Errorf("%d goroutines hold the lease at once", k)
				}
				mu.Lock()
				tokens = append(tokens, l.Token())
				mu.Unlock()
				inside.Add(-1)
				if err := l.Release(ctx(t, 5*time.Second)); err != nil {
					t.Errorf("release: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if len(tokens) != 20 {
		t.Fatalf("%d tenures, want 20", len(tokens))
	}
	for i := 1; i < len(tokens); i++ {
		if tokens[i] <= tokens[i-1] { // R12, within one node too
			t.Fatalf("tokens not increasing: %v", tokens)
		}
	}
	if s := a.Stats(); s.Held != 0 || s.Pending != 0 {
		t.Fatalf("stats after all released: held %d pending %d", s.Held, s.Pending)
	}
}

// TryAcquire against a local holder fails at once with ErrHeld; a caller
// whose ctx ends withdraws its request and leaves no tenure behind.
func TestLocalTryAndCancel(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	a, b := c.nodes["a"], c.nodes["b"]
	l := mustAcquire(t, a, "q")
	if _, err := a.TryAcquire(ctx(t, 5*time.Second), "q"); !errors.Is(err, ErrHeld) {
		t.Fatalf("local TryAcquire: %v, want ErrHeld", err)
	}
	// A local waiter gives up.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.Acquire(short, "q"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("local Acquire with short ctx: %v", err)
	}
	// A remote waiter gives up: its request is cancelled in the machine.
	short2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := b.Acquire(short2, "q"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("remote Acquire with short ctx: %v", err)
	}
	if s := b.Stats(); s.Pending != 0 || s.Held != 0 {
		t.Fatalf("b after withdrawal: %+v", s)
	}
	if err := l.Release(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Nothing was leaked: b can take it (it must not be blocked by a
	// stale local request).
	l2 := mustAcquire(t, b, "q")
	if l2.Token() <= l.Token() {
		t.Fatalf("token %d not above %d", l2.Token(), l.Token())
	}
}

// A cancelled caller racing with the grant never leaks the tenure: many
// callers with tiny deadlines, then another node must get the lease. A
// tenure leaked on a would be renewed for ever and block b to the end.
func TestCancelRaceLeaksNothing(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	a, b := c.nodes["a"], c.nodes["b"]
	for i := range 40 {
		d := time.Duration(i%8) * 100 * time.Microsecond
		cx, cancel := context.WithTimeout(context.Background(), d)
		l, err := a.Acquire(cx, "race", WithTTL(time.Second))
		cancel()
		if err == nil {
			if err := l.Release(ctx(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if s := a.Stats(); s.Held != 0 || s.Pending != 0 {
		t.Fatalf("a after cancellations: held %d pending %d", s.Held, s.Pending)
	}
	if _, err := b.Acquire(ctx(t, 10*time.Second), "race"); err != nil {
		t.Fatalf("b blocked after a's cancelled requests (leaked tenure?): %v", err)
	}
}

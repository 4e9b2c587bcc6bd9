package node

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

func TestNewRefusesBadConfig(t *testing.T) {
	ok := Config{Name: "a", BindAddr: "127.0.0.1", Voters: []string{"a", "b", "c"}}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"empty name", func(c *Config) { c.Name = "" }, "Name"},
		{"long name", func(c *Config) { c.Name = strings.Repeat("x", 200) }, "Name"},
		{"no voters", func(c *Config) { c.Voters = nil }, "Voters"},
		{"duplicate voter", func(c *Config) { c.Voters = []string{"a", "b", "a"} }, "Voters"},
		{"key length", func(c *Config) { c.SecretKey = []byte("short") }, "SecretKey"},
		{"bind address", func(c *Config) { c.BindAddr = "not-an-ip" }, "BindAddr"},
		{"bind port", func(c *Config) { c.BindPort = 70000 }, "BindPort"},
		// R8: a drift bound so large no attempt fits inside the exclusion.
		{"drift", func(c *Config) { c.MaxDrift = 0.5 }, "MaxDrift"},
		{"ttl below min", func(c *Config) { c.DefaultTTL = time.Millisecond }, "DefaultTTL"},
		{"ttl above max", func(c *Config) { c.DefaultTTL = time.Minute; c.MaxTTL = 10 * time.Second }, "DefaultTTL"},
		{"label", func(c *Config) { c.Label = strings.Repeat("l", 300) }, "Label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			n, err := New(cfg)
			if err == nil {
				n.Shutdown()
				t.Fatal("New accepted the config")
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name field %s", err, tc.field)
			}
		})
	}
}

func TestAcquireTryAcquireHolderRelease(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x"}, nil)
	a, b, x := c.nodes["a"], c.nodes["b"], c.nodes["x"]

	l := mustAcquire(t, x, "leader", WithValue([]byte("x.example:80")))
	if l.Err() != nil || l.Token() == 0 || l.Name() != "leader" {
		t.Fatalf("lease: err %v token %d name %q", l.Err(), l.Token(), l.Name())
	}
	if !l.Deadline().After(time.Now()) {
		t.Fatalf("deadline %v already passed", l.Deadline())
	}

	_, err := b.TryAcquire(ctx(t, 10*time.Second), "leader")
	if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), "x") {
		t.Fatalf("TryAcquire while x holds: %v, want ErrHeld naming x", err)
	}

	// R14: the voters' view, a hint, names the holder and its value.
	h, err := a.Holder(ctx(t, 10*time.Second), "leader")
	if err != nil {
		t.Fatalf("Holder: %v", err)
	}
	if h.Node != "x" || h.Token != l.Token() || !bytes.Equal(h.Value, []byte("x.example:80")) || h.Remaining <= 0 {
		t.Fatalf("Holder = %+v, want x with token %d", h, l.Token())
	}

	if err := l.Release(ctx(t, 10*time.Second)); err != nil {
		t.Fatalf("Release: %v", err)
	}
	select {
	case <-l.Done():
	default:
		t.Fatal("Done not closed after Release")
	}
	if !errors.Is(l.Err(), ErrReleased) || l.Context().Err() == nil {
		t.Fatalf("after Release: Err %v, ctx err %v", l.Err(), l.Context().Err())
	}
	if err := l.Release(ctx(t, time.Second)); !errors.Is(err, ErrReleased) {
		t.Fatalf("second Release: %v, want ErrReleased", err)
	}

	// R12: the next tenure has a higher token. (Acquire, not TryAcquire:
	// the Release may still be in flight to some voters.)
	l2, err := b.Acquire(ctx(t, 10*time.Second), "leader")
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	if l2.Token() <= l.Token() {
		t.Fatalf("token %d not above %d", l2.Token(), l.Token())
	}
	if _, err := a.Holder(ctx(t, 10*time.Second), "nobody-holds-this"); !errors.Is(err, ErrNoHolder) {
		t.Fatalf("Holder of a free name: %v, want ErrNoHolder", err)
	}
	if _, err := a.TryAcquire(ctx(t, time.Second), ""); !errors.Is(err, ErrBadName) || !errors.Is(err, protocol.ErrBadName) {
		t.Fatalf("empty lease name: %v", err)
	}
	if _, err := a.TryAcquire(ctx(t, time.Second), "big", WithValue(make([]byte, 4096))); !errors.Is(err, ErrValueTooLarge) || !errors.Is(err, protocol.ErrValueTooLarge) {
		t.Fatalf("big value: %v", err)
	}
	if _, err := a.TryAcquire(ctx(t, time.Second), "delay", WithLockDelay(-time.Second)); !errors.Is(err, ErrBadTTL) || !errors.Is(err, protocol.ErrBadTTL) {
		t.Fatalf("negative lock delay: %v", err)
	}
}

func TestHandoffAfterRelease(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	a, b := c.nodes["a"], c.nodes["b"]
	// A TTL far longer than the wait below: b can only get the lease in
	// time through the release (a Vacant notice), not through expiry.
	l := mustAcquire(t, a, "job", WithTTL(25*time.Second))
	got := make(chan *Lease, 1)
	errc := make(chan error, 1)
	go func() {
		l2, err := b.Acquire(ctx(t, 10*time.Second), "job")
		if err != nil {
			errc <- err
			return
		}
		got <- l2
	}()
	// Let b's request reach the voters and be blocked by a's lease, so the
	// handoff goes through the Vacant path. (Workload shaping, not waiting
	// for a condition.)
	time.Sleep(100 * time.Millisecond)
	if err := l.Release(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case l2 := <-got:
		if l2.Token() <= l.Token() {
			t.Fatalf("token %d not above %d", l2.Token(), l.Token())
		}
		if !l2.acquiredAt.After(l.endedAt) {
			t.Fatalf("b acquired at %v, before a's tenure ended at %v", l2.acquiredAt, l.endedAt)
		}
	case err := <-errc:
		t.Fatalf("b did not get the released lease before its 10s deadline (TTL 25s): %v", err)
	}
}

func TestFailoverAfterShutdown(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x", "y"}, nil)
	x, y := c.nodes["x"], c.nodes["y"]
	const ttl = 500 * time.Millisecond
	l := mustAcquire(t, x, "svc", WithTTL(ttl))
	got := make(chan *Lease, 1)
	errc := make(chan error, 1)
	go func() {
		l2, err := y.Acquire(ctx(t, 20*time.Second), "svc", WithTTL(ttl))
		if err != nil {
			errc <- err
			return
		}
		got <- l2
	}()
	c.stop("x")
	if !errors.Is(l.Err(), ErrClosed) {
		t.Fatalf("holder's lease after Shutdown: %v, want ErrClosed", l.Err())
	}
	select {
	case l2 := <-got:
		if l2.Token() <= l.Token() {
			t.Fatalf("token %d not above %d", l2.Token(), l.Token())
		}
	case err := <-errc:
		t.Fatalf("y never got the lease after x crashed: %v", err)
	}
	if _, err := x.Acquire(context.Background(), "svc"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Acquire on a stopped node: %v", err)
	}
}

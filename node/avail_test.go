package node

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// With a majority of voters down, every request says "no quorum" with the
// counts, never held or contended, and Ready says the same.
func TestUnavailableNoQuorum(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	a := c.nodes["a"]
	if r, err := a.Ready(ctx(t, 10*time.Second)); err != nil || r.Answered < 2 {
		t.Fatalf("Ready with every voter up: %+v, %v", r, err)
	}
	c.stop("b")
	c.stop("c")
	// Answers b and c sent just before they stopped (to the Ready probe
	// above) may still arrive, and an answer while a request runs counts:
	// wait until a probe of a's own sees the majority gone.
	var u *UnavailableError
	waitUntil(t, "a to see only itself answer", func() bool {
		_, err := a.Ready(ctx(t, 10*time.Second))
		return errors.As(err, &u)
	})

	_, err := a.TryAcquire(ctx(t, 30*time.Second), "x")
	if !errors.As(err, &u) || !errors.Is(err, ErrNoQuorum) || !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrContended) || errors.Is(err, ErrQuarantined) {
		t.Fatalf("TryAcquire with 2 of 3 voters down: %v, want an UnavailableError (no quorum)", err)
	}
	if u.Reason != ReasonNoQuorum || u.Answered != 1 || u.Voters != 3 || err.Error() != "no quorum: 1 of 3 voters answered" {
		t.Fatalf("TryAcquire: %+v %q", u, err)
	}

	wctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = a.Acquire(wctx, "x")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrNoQuorum) || !strings.Contains(err.Error(), "1 of 3 voters answered") {
		t.Fatalf("Acquire with a wait: %v, want the deadline and no quorum", err)
	}

	if _, err := a.Holder(ctx(t, 30*time.Second), "x"); !errors.As(err, &u) || u.Answered != 1 {
		t.Fatalf("Holder: %v, want an UnavailableError with 1 answer", err)
	}

	r, err := a.Ready(ctx(t, 30*time.Second))
	if !errors.As(err, &u) || u.Reason != ReasonNoQuorum {
		t.Fatalf("Ready: %v, want no quorum", err)
	}
	if len(r.Voters) != 3 || r.Answered != 1 {
		t.Fatalf("Ready: %+v", r)
	}
	for _, v := range r.Voters {
		if v.Answered != (v.Name == "a") || v.Self != (v.Name == "a") {
			t.Errorf("voter %+v: want only a answered", v)
		}
	}
}

// A voter in quarantine with no other voter to answer reports the
// quarantine and how long it has to go.
func TestUnavailableQuarantined(t *testing.T) {
	dir := t.TempDir()
	tweak := func(c *Config) { c.MaxTTL = 30 * time.Second }
	n := mustNew(t, solo("a", dir, tweak))
	if !n.Stats().Quarantined {
		t.Fatal("an empty dir without NewCluster is not quarantined")
	}
	_, err := n.TryAcquire(ctx(t, 30*time.Second), "x")
	var u *UnavailableError
	if !errors.As(err, &u) || !errors.Is(err, ErrQuarantined) || u.Reason != ReasonQuarantined || u.QuarantineLeft <= 0 {
		t.Fatalf("TryAcquire in quarantine: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "quarantined for ") || !strings.Contains(err.Error(), "s more (0 of 1 voters answered)") {
		t.Fatalf("message %q", err)
	}
	if _, err := n.Ready(ctx(t, 30*time.Second)); !errors.Is(err, ErrQuarantined) {
		t.Fatalf("Ready in quarantine: %v", err)
	}
}

// Contention with a majority answering stays contention: two callers on
// one voter set race, and a held lease is ErrHeld, not unavailable.
func TestHeldIsNotUnavailable(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	mustAcquire(t, c.nodes["a"], "x")
	_, err := c.nodes["b"].TryAcquire(ctx(t, 30*time.Second), "x")
	if !errors.Is(err, ErrHeld) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("TryAcquire of a held lease: %v", err)
	}
}

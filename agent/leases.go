package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/tenure-dev/tenure/node"
)

// Why the agent released a lease: label values of tenure_releases_total.
const (
	reasonClient    = "client"            // DELETE
	reasonKeepalive = "keepalive_timeout" // no keepalive within a TTL
	reasonHangup    = "disconnect"        // a hold stream's client went away
	reasonShutdown  = "shutdown"          // Close
)

// errMismatch means a request named a token that is not the current
// tenure's and not an earlier one (HTTP 409).
var errMismatch = errors.New("agent: token does not match the current tenure")

// errHoldMode means a keepalive named a lease kept by a hold stream.
var errHoldMode = errors.New("agent: lease is kept alive by its hold stream, not by keepalive")

// held is one tenure the agent holds on a client's behalf.
type held struct {
	a     *Agent
	lease *node.Lease
	ttl   time.Duration
	hold  bool // kept by a streaming request; otherwise by keepalives

	mu       sync.Mutex
	expiry   time.Time   // keepalive mode: release if no keepalive by then
	timer    *time.Timer // keepalive mode: fires at expiry
	reason   string      // set when the agent releases it
	released bool
}

// register records a fresh tenure and starts watching it. If the agent is
// closing, the tenure is released at once and ErrClosed returned.
func (a *Agent) register(l *node.Lease, ttl time.Duration, hold bool) (*held, error) {
	h := &held{a: a, lease: l, ttl: ttl, hold: hold}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		h.release(context.Background(), reasonShutdown)
		return nil, ErrClosed
	}
	if old := a.leases[l.Name()]; old != nil && old.lease.Err() == nil {
		// The node serves one tenure per name at a time; an entry still
		// here belongs to a tenure whose watcher has not run yet.
		a.log.Warn("replacing a lease entry whose tenure is live", "name", l.Name(), "old", old.lease.Token(), "new", l.Token())
	}
	a.leases[l.Name()] = h
	if !hold {
		h.expiry = time.Now().Add(ttl)
		h.timer = time.AfterFunc(ttl, h.expire)
	}
	a.watchers.Add(1)
	a.mu.Unlock()
	go h.watch()
	return h, nil
}

// lookup finds the tenure of name with token, held through this agent.
// It returns ErrGone if the agent holds no tenure of name or a later one
// than token, and errMismatch for an unknown later token.
func (a *Agent) lookup(name string, token uint64) (*held, error) {
	a.mu.Lock()
	h := a.leases[name]
	a.mu.Unlock()
	switch {
	case h == nil || h.lease.Err() != nil:
		return nil, fmt.Errorf("%w: no tenure of %q is held through this agent", ErrGone, name)
	case token < h.lease.Token():
		return nil, fmt.Errorf("%w: tenure %d of %q ended; a later one is held", ErrGone, token, name)
	case token != h.lease.Token():
		return nil, fmt.Errorf("%w: %d", errMismatch, token)
	}
	return h, nil
}

// watch waits for the tenure to end, forgets it and counts why it ended.
func (h *held) watch() {
	defer h.a.watchers.Done()
	<-h.lease.Done()
	h.mu.Lock()
	if h.timer != nil {
		h.timer.Stop()
	}
	reason := h.reason
	h.mu.Unlock()
	a := h.a
	a.mu.Lock()
	if a.leases[h.lease.Name()] == h {
		delete(a.leases, h.lease.Name())
	}
	a.mu.Unlock()
	err := h.lease.Err()
	switch {
	case errors.Is(err, node.ErrReleased):
		if reason == "" {
			reason = reasonClient
		}
		a.metrics.releases.WithLabelValues(reason).Inc()
	case errors.Is(err, node.ErrLost):
		a.metrics.losses.WithLabelValues("lost").Inc()
	default:
		a.metrics.losses.WithLabelValues("closed").Inc()
	}
	a.log.Info("lease ended", "name", h.lease.Name(), "token", h.lease.Token(), "err", err, "reason", reason)
}

// keepalive pushes the keepalive expiry a TTL past now and returns the
// client's deadline.
func (h *held) keepalive(now time.Time) (time.Time, error) {
	if h.hold {
		return time.Time{}, errHoldMode
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released || h.lease.Err() != nil {
		return time.Time{}, fmt.Errorf("%w: %v", ErrGone, h.lease.Err())
	}
	h.expiry = now.Add(h.ttl)
	h.timer.Reset(h.ttl)
	return h.deadlineLocked(), nil
}

// expire runs on the keepalive timer: without a keepalive for a TTL, the
// client is presumed gone and the lease is released.
func (h *held) expire() {
	h.mu.Lock()
	late := !time.Now().Before(h.expiry)
	if !late && !h.released {
		// A keepalive moved the expiry after this timer fired.
		h.timer.Reset(time.Until(h.expiry))
	}
	h.mu.Unlock()
	if late {
		h.release(context.Background(), reasonKeepalive)
	}
}

// release ends the tenure for reason; it returns nil if this call ended
// it, else why it had ended already.
func (h *held) release(ctx context.Context, reason string) error {
	h.mu.Lock()
	if !h.released && h.lease.Err() == nil {
		h.released = true
		h.reason = reason
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := h.lease.Release(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil // the tenure ended; only the messages were late
	}
	return err
}

// deadline is the instant by which the client must have stopped: the
// node's deadline, and in keepalive mode no later than the keepalive
// expiry.
func (h *held) deadline() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.deadlineLocked()
}

func (h *held) deadlineLocked() time.Time {
	d := h.lease.Deadline()
	if !h.hold && h.expiry.Before(d) {
		d = h.expiry
	}
	return d
}

// grant describes the tenure as of now.
func (h *held) grant(now time.Time) Grant {
	return Grant{
		Name:       h.lease.Name(),
		Token:      h.lease.Token(),
		TokenStr:   strconv.FormatUint(h.lease.Token(), 10),
		TTL:        Duration(h.ttl),
		DeadlineMS: untilMS(h.deadline(), now),
	}
}

// untilMS is the whole milliseconds from now to t, rounded down, never
// negative.
func untilMS(t, now time.Time) int64 {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int64(d / time.Millisecond)
}

package agent

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

// Why the agent released a lease: label values of tenure_releases_total.
const (
	reasonClient    = "client"            // DELETE by the holder
	reasonKeepalive = "keepalive_timeout" // no keepalive before the expiry
	reasonHangup    = "disconnect"        // a hold stream ended; freed after its last deadline
	reasonShutdown  = "shutdown"          // the agent closed before anyone was told of the grant
)

// errMismatch means a request named a token that is not the current
// tenure's and not an earlier one (HTTP 409).
var errMismatch = errors.New("agent: token does not match the current tenure")

// errHoldMode means a keepalive named a lease kept by a hold stream.
var errHoldMode = errors.New("agent: lease is kept alive by its hold stream, not by keepalive")

// errBadKey means a keepalive or DELETE came without the tenure's lease
// key, or with a wrong one (HTTP 403).
var errBadKey = errors.New("agent: lease key missing or wrong: only the client that acquired the tenure may renew or release it (send its lease_key in the " + api.LeaseKeyHeader + " header)")

// leaseKeyBytes is the size of a lease key: 128 random bits.
const leaseKeyBytes = 16

// newLeaseKey makes a fresh lease key (hex).
func newLeaseKey() string {
	b := make([]byte, leaseKeyBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics instead)
	return hex.EncodeToString(b)
}

// held is one tenure the agent holds on a client's behalf.
type held struct {
	a     *Agent
	lease *node.Lease
	ttl   time.Duration
	hold  bool   // kept by a streaming request; otherwise by keepalives
	key   string // the lease key: never listed, never logged

	mu sync.Mutex
	// expiry (keepalive mode) is the receipt of the latest keepalive (or
	// the grant) plus the TTL, on the agent's clock: every deadline handed
	// out ends before it in real time (R16), so at expiry the agent frees
	// the lease (R15).
	expiry time.Time
	// told (hold mode) is the latest deadline, on the agent's clock, that
	// an event of the stream was computed from: the client's own deadline
	// ends before it in real time.
	told time.Time
	// timer fires at expiry (keepalive mode) or, once a hold stream has
	// ended, at told.
	timer *time.Timer
	// streamEnded (hold mode): the stream is over; the lease is freed at
	// told.
	streamEnded bool
	reason      string // set when the agent decided to release it
	// released is set, in the same critical section as the decision, when
	// the agent decides to end the tenure: no keepalive extends it after.
	released bool
}

// register records a fresh tenure and starts watching it. A keepalive
// tenure's expiry is now (the grant) plus the TTL: the client could not
// send a keepalive while its acquire waited. If the agent is closing, the
// tenure is released at once (nobody has been told of it) and ErrClosed
// returned. A hold tenure counts in a.streams until its handler returns.
func (a *Agent) register(l *node.Lease, ttl time.Duration, hold bool) (*held, error) {
	h := &held{a: a, lease: l, ttl: ttl, hold: hold, key: newLeaseKey()}
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
	if hold {
		a.streams.Add(1)
	} else {
		h.mu.Lock()
		h.expiry = time.Now().Add(ttl)
		h.timer = time.AfterFunc(ttl, h.expire)
		h.mu.Unlock()
	}
	a.mu.Unlock()
	go h.watch()
	return h, nil
}

// lookup finds the tenure of name with token, held through this agent,
// and checks the lease key. It returns ErrGone if the agent holds no
// tenure of name or a later one than token, errMismatch for an unknown
// later token, and errBadKey if key is not the tenure's.
func (a *Agent) lookup(name string, token uint64, key string) (*held, error) {
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
	case subtle.ConstantTimeCompare([]byte(key), []byte(h.key)) != 1:
		return nil, errBadKey
	}
	return h, nil
}

// watch waits for the tenure to end, forgets it and counts why it ended.
func (h *held) watch() {
	<-h.lease.Done()
	h.mu.Lock()
	if h.timer != nil {
		h.timer.Stop()
	}
	reason := h.reason
	h.mu.Unlock()
	a := h.a
	// Counted before the tenure leaves the list, so that whoever sees it
	// gone from GET /v1/leases also sees why in /metrics (TestHoldStream
	// once read the list empty and the counter not yet raised).
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
	a.mu.Lock()
	if a.leases[h.lease.Name()] == h {
		delete(a.leases, h.lease.Name())
	}
	a.mu.Unlock()
	a.log.Info("lease ended", "name", h.lease.Name(), "token", h.lease.Token(), "err", err, "reason", reason)
}

// keepalive serves a keepalive the agent received at the instant
// received: it moves the expiry to received plus the TTL (never earlier
// than it was) and returns the answer. A keepalive received at or after
// the expiry, or once the agent has decided to release the tenure, gets
// ErrGone and changes nothing: the decision and the extension exclude each
// other under h.mu (R15).
func (h *held) keepalive(received time.Time) (api.Grant, error) {
	if h.hold {
		return api.Grant{}, errHoldMode
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.released || h.lease.Err() != nil:
		return api.Grant{}, fmt.Errorf("%w: %v", ErrGone, h.endCauseLocked())
	case !received.Before(h.expiry):
		return api.Grant{}, fmt.Errorf("%w: keepalive received %v after the keepalive expiry; the agent frees the lease", ErrGone, received.Sub(h.expiry).Round(time.Millisecond))
	}
	expiry := h.expiry
	if e := received.Add(h.ttl); e.After(expiry) {
		expiry = e
	}
	ms := deadlineMS(minTime(h.lease.Deadline(), expiry), received, h.a.drift)
	if ms <= 0 {
		return api.Grant{}, fmt.Errorf("%w: the node's deadline for the tenure has passed", ErrGone)
	}
	h.expiry = expiry
	h.timer.Reset(time.Until(expiry))
	return h.grantLocked(ms), nil
}

// endCauseLocked says why a tenure is over or ending.
func (h *held) endCauseLocked() any {
	if err := h.lease.Err(); err != nil {
		return err
	}
	return "the agent is releasing it (" + h.reason + ")"
}

// expire runs on the keepalive timer.
func (h *held) expire() {
	if h.decideExpiry(time.Now()) {
		h.free(context.Background())
	}
}

// decideExpiry decides, at now, whether the keepalive expiry has passed,
// and if so marks the tenure released in the same critical section, so
// that no keepalive can extend it in between (R15). It reports whether the
// caller must free the lease. Before the expiry it re-arms the timer.
func (h *held) decideExpiry(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released || h.lease.Err() != nil {
		return false
	}
	if now.Before(h.expiry) {
		// A keepalive moved the expiry after this timer was armed.
		h.timer.Reset(h.expiry.Sub(now))
		return false
	}
	h.released, h.reason = true, reasonKeepalive
	return true
}

// release ends the tenure for reason at once; it returns nil if this call
// ended it, else why it had ended already. Only the holder's own DELETE,
// or an expiry that every deadline handed out has passed, calls it (R15).
func (h *held) release(ctx context.Context, reason string) error {
	h.mu.Lock()
	if !h.released && h.lease.Err() == nil {
		h.released, h.reason = true, reason
	}
	h.mu.Unlock()
	return h.free(ctx)
}

// free asks the node to release the tenure.
func (h *held) free(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := h.lease.Release(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil // the tenure ended; only the messages were late
	}
	return err
}

// grant describes the tenure for a listing read at received.
func (h *held) grant(received time.Time) api.Grant {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.lease.Deadline()
	if !h.hold {
		d = minTime(d, h.expiry)
	}
	return h.grantLocked(deadlineMS(d, received, h.a.drift))
}

// grantLocked is the answer with deadline ms, without the lease key.
func (h *held) grantLocked(ms int64) api.Grant {
	return api.Grant{
		Name:       h.lease.Name(),
		Token:      h.lease.Token(),
		TokenStr:   strconv.FormatUint(h.lease.Token(), 10),
		TTL:        api.Duration(h.ttl),
		DeadlineMS: ms,
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

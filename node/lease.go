package node

import (
	"context"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// Lease is one tenure of a lease name held by this node: from the grant
// until it is lost, released, or the node stops. Only the holder knows it
// holds a lease (R14); a Lease is that knowledge.
//
// Use it like this: act only while Context() is live and the local clock is
// before Deadline(), and pass Token() to every resource you write, which
// must refuse a token lower than one it has seen. The margin between
// Deadline and the voters' exclusion covers the gap between checking and
// acting; fencing covers the rest.
//
// A Lease is safe for concurrent use.
type Lease struct {
	n          *Node
	name       string
	token      uint64
	ttl        time.Duration
	lead       time.Duration // the own timer fires this long before the deadline, to absorb timer latency
	acquiredAt time.Time     // on the node's clock, when the grant was seen
	ctx        context.Context
	cancel     context.CancelFunc
	announce   bool   // gossip the tenure (Campaign)
	value      []byte // what it was acquired with, for announcements

	mu       sync.Mutex
	deadline time.Time
	err      error
	endedAt  time.Time
	timer    *clock.Timer
}

// newLease builds the handle of a fresh tenure, asked for with opts (nil
// if nobody asked), and arms its own loss timer.
func (n *Node) newLease(name string, token uint64, ttl time.Duration, deadline time.Time, opts *acquireOpts) *Lease {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Lease{
		n: n, name: name, token: token, ttl: ttl,
		lead:       n.margins.MarginFor(ttl) / 2,
		acquiredAt: n.clock.Now(),
		ctx:        ctx, cancel: cancel,
		deadline: deadline,
	}
	if opts != nil {
		l.announce, l.value = opts.announce, opts.value
	}
	l.timer = n.clock.AfterFunc(l.untilLoss(l.acquiredAt), l.expire)
	return l
}

// untilLoss is how long from now the own timer must wait. Callers hold mu
// or own l exclusively.
func (l *Lease) untilLoss(now time.Time) time.Duration {
	return max(l.deadline.Add(-l.lead).Sub(now), 0)
}

// expire runs on the lease's own timer, on a goroutine of its own: it ends
// the tenure with ErrLost at its deadline whether or not the owner
// goroutine or the network said anything (R11). A timer made stale by a
// renewal finds the deadline moved and does nothing.
func (l *Lease) expire() {
	now := l.n.clock.Now()
	l.mu.Lock()
	if l.err != nil || now.Before(l.deadline.Add(-l.lead)) {
		l.mu.Unlock()
		return
	}
	l.endLocked(ErrLost, now)
	l.mu.Unlock()
	l.cancel()
	// Tell the machine, which may still believe it holds the tenure. It
	// abandons it without a Release: an action started just before the
	// loss may still run for the margin, so the voters must keep the name
	// until the lease expires there (R10, R8).
	l.n.enqueueEnd(endItem{lease: l, kind: endLost})
}

// extend moves the deadline after a renewal and re-arms the own timer. It
// runs on the owner goroutine.
func (l *Lease) extend(deadline time.Time) {
	l.mu.Lock()
	if l.err != nil || !deadline.After(l.deadline) {
		l.mu.Unlock()
		return
	}
	l.deadline = deadline
	l.timer.Reset(l.untilLoss(l.n.clock.Now()))
	l.mu.Unlock()
	l.n.announceTenure(l)
}

// end ends the tenure with err unless it has ended already; it reports
// whether this call ended it.
func (l *Lease) end(err error) bool {
	now := l.n.clock.Now()
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return false
	}
	l.endLocked(err, now)
	l.mu.Unlock()
	l.cancel()
	return true
}

func (l *Lease) endLocked(err error, now time.Time) {
	l.err = err
	l.endedAt = now
	l.timer.Stop()
}

// Name is the lease name.
func (l *Lease) Name() string { return l.name }

// Token is the fencing token of this tenure: the era and round of the
// ballot that won it (R12). Tokens of successive tenures of one lease name
// strictly increase, across holders and restarts (given data dirs). It does
// not change on renewal.
func (l *Lease) Token() uint64 { return l.token }

// TTL is the lease TTL this tenure was granted with.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Deadline is the instant, on this node's clock (Config.Clock), after
// which the holder must not act under this tenure. Each successful renewal
// moves it later; a failed renewal leaves it where it was, and the tenure
// ends there. It lies before every voter's exclusion ends, by the margin
// (TTL/100) and the drift bound (R8).
func (l *Lease) Deadline() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline
}

// Done is closed when the tenure ends: lost, released, or the node
// stopped. If renewal fails it closes no later than Deadline, by a timer of
// the lease's own, without waiting for the network or the node's event
// loop.
func (l *Lease) Done() <-chan struct{} { return l.ctx.Done() }

// Context is cancelled when Done closes. Pass it to work done under the
// lease.
func (l *Lease) Context() context.Context { return l.ctx }

// Err is nil while the tenure lasts, then why it ended: ErrLost, ErrReleased
// or ErrClosed.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Release ends the tenure at once on this node (Done closes, Err becomes
// ErrReleased), then asks the voters to clear exactly this tenure (R10), so
// that a waiter elsewhere gets the lease within a few round trips. ctx
// bounds only the wait for the Release messages to be handed to the
// network: they are sent even if ctx ends first, and the tenure has ended
// either way. It returns nil if this call ended the tenure, ctx.Err() if
// ctx ended before the messages left, and otherwise the error that had
// already ended the tenure (ErrLost, ErrReleased, ErrClosed).
func (l *Lease) Release(ctx context.Context) error {
	if !l.end(ErrReleased) {
		return l.Err()
	}
	sent := make(chan struct{})
	if !l.n.enqueueEnd(endItem{lease: l, kind: endRelease, sent: sent}) {
		return nil // the node stopped; its voters' exclusion runs out
	}
	select {
	case <-sent:
		return nil
	case <-l.n.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Abandon ends the tenure at once on this node, like Release, but tells
// the voters nothing: the lease stays blocked until it expires there, as if
// this node had crashed. Use it when in doubt whether the protected work
// finished (the next holder then starts only after a full TTL). It returns
// nil if this call ended the tenure, else the error that had.
func (l *Lease) Abandon() error {
	if !l.end(ErrReleased) {
		return l.Err()
	}
	l.n.enqueueEnd(endItem{lease: l, kind: endAbandon})
	return nil
}

package node

import (
	"context"
	"errors"
)

// Campaign blocks until this node leads under the lease name, or ctx ends,
// and returns the tenure. Leading is holding the lease: the Lease handle
// is the leader's only proof (R14), its Context ends when the leadership
// does, and its Token fences the leader's writes. Lease.Release resigns
// (another candidate takes over within a few round trips); a leader that
// crashes is replaced once its lease expires (after at most its TTL).
//
// value (at most 512 bytes, copied), typically the leader's address, is
// stored with the lease for Leader to read, and announced by gossip with
// each new tenure, each renewal and the end of the tenure, for Observe.
// opts may set the TTL (WithTTL) and a lock delay (WithLockDelay); a
// WithValue among them is overridden by value.
//
// Candidates on one node queue behind each other, as Acquire callers do.
func (n *Node) Campaign(ctx context.Context, name string, value []byte, opts ...AcquireOption) (*Lease, error) {
	opts = append(opts[:len(opts):len(opts)], WithValue(value), withAnnounce())
	return n.Acquire(ctx, name, opts...)
}

// Leader asks the voters who leads under the lease name: the holder, its
// token and the value it campaigned with. It fails with ErrNoHolder when
// there is no leader, and with ErrNoQuorum when too few voters answered.
//
// The answer is a hint (R14): the leadership may have changed by the time
// it arrives, and only the leader's Lease says that it leads. A holder in
// a lock delay (WithLockDelay) is reported until the delay ends.
func (n *Node) Leader(ctx context.Context, name string) (Holder, error) {
	return n.Holder(ctx, name)
}

// withAnnounce makes a tenure gossip its beginning, renewals and end (see
// Observe). Campaign sets it.
func withAnnounce() AcquireOption {
	return func(o *acquireOpts) { o.announce = true }
}

// RunElection campaigns for the lease name until ctx ends, calling
// onElected when this node starts to lead and onDefeated when it stops.
// Either callback may be nil.
//
// onElected runs on a goroutine of its own with the tenure's context,
// which is cancelled when the leadership ends: lost (the lease could not
// be renewed), resigned because ctx ended, or the node stopped. Lead only
// while that context is live. Returning from onElected does not resign:
// the node leads on, unused, until the tenure ends.
//
// When a tenure ends, RunElection waits for onElected to return, then
// calls onDefeated, then campaigns again (unless ctx has ended). So the
// callbacks of one RunElection alternate, elected then defeated, never
// overlap, and no callback fires for a tenure that never began.
//
// When ctx ends, RunElection resigns (releases the lease, so another
// candidate takes over within a few round trips) and returns ctx.Err().
// It returns ErrClosed when the node stops, and an invalid name's or
// option's error at once. opts are as for Campaign.
func RunElection(ctx context.Context, n *Node, name string, value []byte,
	onElected func(ctx context.Context), onDefeated func(), opts ...AcquireOption) error {
	for {
		l, err := n.Campaign(ctx, name, value, opts...)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return ctx.Err()
			}
			return err
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if onElected != nil {
				onElected(l.Context())
			}
		}()
		select {
		case <-l.Done():
		case <-ctx.Done():
			// Resign. The tenure ends on this node before the voters hear
			// of it (R10); a stopped node's tenure has ended already.
			_ = l.Release(context.WithoutCancel(ctx))
		}
		<-done
		if onDefeated != nil {
			onDefeated()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(l.Err(), ErrClosed) {
			return ErrClosed
		}
	}
}

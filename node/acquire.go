package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/tenure-dev/tenure/protocol"
)

// acquireReq is one caller's request for a lease name. The protocol allows
// one request or tenure per name per node (protocol.ErrBusy), so callers
// of one node queue per name and are served one after another: exclusion
// holds between goroutines of one process too.
type acquireReq struct {
	name  string
	opts  acquireOpts
	wait  bool
	res   chan acquireResult // capacity 1: the owner never blocks on it
	done  bool               // a result was sent
	lease *Lease             // the result, if it was a tenure
}

type acquireResult struct {
	lease *Lease
	err   error
}

// nameState is the owner goroutine's view of one lease name on this node:
// at most one of active (a request inside the machine) and lease (a
// tenure), and the callers waiting behind them.
type nameState struct {
	name   string
	active *acquireReq
	lease  *Lease
	queue  []*acquireReq
}

// Acquire waits until this node holds the lease name, or ctx ends. While
// another node holds it, Acquire waits for it to be released (a Vacant
// notice brings it within a few round trips) or to expire. Other callers of
// this node asking for the same name are served one after another. If ctx
// ends first, the request is withdrawn and ctx.Err() returned; a tenure
// granted in that instant is released at once, never leaked. If fewer than
// a majority of voters answered while it waited, the ctx error wraps an
// *UnavailableError saying so (errors.Is finds both).
func (n *Node) Acquire(ctx context.Context, name string, opts ...AcquireOption) (*Lease, error) {
	return n.acquire(ctx, name, true, opts)
}

// TryAcquire makes one round for the lease name (a few tries against
// competing proposers). It fails with ErrHeld, naming the holder, if
// another node or another caller of this node holds it, with ErrContended
// if it lost to competing proposers, and with an *UnavailableError
// (ErrNoQuorum, ErrUnavailable) if fewer than a majority of voters
// answered.
func (n *Node) TryAcquire(ctx context.Context, name string, opts ...AcquireOption) (*Lease, error) {
	return n.acquire(ctx, name, false, opts)
}

func (n *Node) acquire(ctx context.Context, name string, wait bool, opts []AcquireOption) (*Lease, error) {
	if err := protocol.CheckName(name); err != nil {
		return nil, mapErr(err)
	}
	req := &acquireReq{name: name, wait: wait, res: make(chan acquireResult, 1)}
	for _, o := range opts {
		o(&req.opts)
	}
	since := n.now()
	if err := n.do(ctx, func() { n.submit(req) }); err != nil {
		return nil, err
	}
	select {
	case r := <-req.res:
		return r.lease, n.asUnavailable(r.err, since)
	case <-ctx.Done():
	}
	// Withdraw. Once the owner has run this, the request either is gone
	// or had its result sent; a tenure that came too late was released.
	if n.do(context.Background(), func() { n.withdraw(req) }) != nil {
		// The node stopped; it has failed or ended everything.
		select {
		case r := <-req.res:
			if r.lease != nil {
				r.lease.end(ErrClosed)
			}
		default:
		}
	}
	return nil, n.asUnavailable(ctx.Err(), since)
}

// submit queues req behind any local user of the name and starts it if the
// name is free.
func (n *Node) submit(req *acquireReq) {
	ns := n.names[req.name]
	if ns == nil {
		ns = &nameState{name: req.name}
		n.names[req.name] = ns
	}
	if ns.lease != nil && !req.wait {
		n.deliver(req, nil, fmt.Errorf("%w: by this node (%s), token %d", ErrHeld, n.cfg.Name, ns.lease.token))
		n.gc(ns)
		return
	}
	ns.queue = append(ns.queue, req)
	n.stats.pending.Add(1)
	n.startNext(ns)
}

// startNext hands the first queued request to the machine if the name has
// neither a request in flight nor a tenure.
func (n *Node) startNext(ns *nameState) {
	for ns.active == nil && ns.lease == nil && len(ns.queue) > 0 {
		req := ns.queue[0]
		ns.queue[0] = nil
		ns.queue = ns.queue[1:]
		err := n.m.Acquire(n.now(), protocol.AcquireRequest{
			Name: req.name, TTL: req.opts.ttl, Value: req.opts.value, Wait: req.wait,
			LockDelay: req.opts.lockDelay,
		})
		if err != nil {
			n.stats.pending.Add(-1)
			n.deliver(req, nil, mapErr(err))
			continue
		}
		ns.active = req
	}
	n.gc(ns)
}

// gc forgets a name nobody uses.
func (n *Node) gc(ns *nameState) {
	if ns.active == nil && ns.lease == nil && len(ns.queue) == 0 {
		delete(n.names, ns.name)
	}
}

func (n *Node) deliver(req *acquireReq, l *Lease, err error) {
	req.done = true
	req.lease = l
	req.res <- acquireResult{lease: l, err: err}
}

// granted hands a new tenure to the request that asked for it.
func (n *Node) granted(ns *nameState, e *protocol.Event) {
	req := ns.active
	ns.active = nil
	var opts *acquireOpts
	if req != nil {
		opts = &req.opts
	}
	l := n.newLease(e.Name, e.Token, e.TTL, n.localTime(e.Deadline), opts)
	ns.lease = l
	n.stats.held.Add(1)
	n.announceTenure(l)
	if req == nil {
		// Nobody asked (cannot happen: withdrawn requests are cancelled in
		// the machine). Never keep a tenure no caller knows about.
		n.releaseNow(ns, l)
		return
	}
	n.stats.pending.Add(-1)
	n.deliver(req, l, nil)
	// Callers that only wanted to try find the name held locally.
	keep := ns.queue[:0]
	for _, q := range ns.queue {
		if q.wait {
			keep = append(keep, q)
			continue
		}
		n.stats.pending.Add(-1)
		n.deliver(q, nil, fmt.Errorf("%w: by this node (%s), token %d", ErrHeld, n.cfg.Name, l.token))
	}
	clear(ns.queue[len(keep):])
	ns.queue = keep
}

// failed reports a request that gave up without a tenure.
func (n *Node) failed(ns *nameState, e *protocol.Event) {
	req := ns.active
	if req == nil {
		return
	}
	ns.active = nil
	n.stats.pending.Add(-1)
	err := mapErr(e.Err)
	if errors.Is(e.Err, protocol.ErrHeld) && e.Holder.Live() {
		err = fmt.Errorf("%w: by %s, token %d, for another %v (a hint)", ErrHeld, e.Holder.Owner, e.Holder.Ballot.Token(), e.Holder.Remaining)
	}
	n.deliver(req, nil, err)
	n.startLater(ns)
}

// tenureOver forgets an ended tenure and serves the next local caller.
func (n *Node) tenureOver(ns *nameState, l *Lease, err error) {
	l.end(err)
	n.announceEnd(l)
	ns.lease = nil
	n.stats.held.Add(-1)
	n.startLater(ns)
}

// startLater serves the next local caller of a name once the machine is
// quiet. A tenure or attempt that just ended may have queued a Release,
// which the machine sends at the next Tick; this node's next Prepare for
// the name must not leave ahead of it, or the voters would find this
// node's own old lease in its way (and send no Vacant notice to the node
// that released it).
func (n *Node) startLater(ns *nameState) {
	n.toStart = append(n.toStart, ns.name)
}

// startDeferred runs the starts startLater put off. It reports whether
// there were any.
func (n *Node) startDeferred() bool {
	if len(n.toStart) == 0 {
		return false
	}
	names := n.toStart
	n.toStart = nil
	for _, name := range names {
		if ns := n.names[name]; ns != nil {
			n.startNext(ns)
		}
	}
	return true
}

// releaseNow ends a tenure on this node and releases it at the voters.
func (n *Node) releaseNow(ns *nameState, l *Lease) {
	l.end(ErrReleased)
	_ = n.m.Release(n.now(), l.name, l.token)
	n.tenureOver(ns, l, ErrReleased)
}

// withdraw takes back the request of a caller whose ctx ended.
func (n *Node) withdraw(req *acquireReq) {
	ns := n.names[req.name]
	switch {
	case req.done:
		if l := req.lease; l != nil && ns != nil && ns.lease == l {
			// The tenure came after the caller gave up: release it at once.
			n.releaseNow(ns, l)
		}
	case ns == nil:
	case ns.active == req:
		n.m.Cancel(n.now(), req.name)
		ns.active = nil
		n.stats.pending.Add(-1)
		req.done = true
		n.startLater(ns)
	default:
		for i, q := range ns.queue {
			if q == req {
				ns.queue = append(ns.queue[:i], ns.queue[i+1:]...)
				n.stats.pending.Add(-1)
				req.done = true
				break
			}
		}
		n.gc(ns)
	}
}

// closeAll fails every waiting caller and ends every tenure with
// ErrClosed. It never sends a Release (R15): both Leave and Shutdown let
// the voters expire the leases this node held.
func (n *Node) closeAll() {
	now := n.now()
	for name, ns := range n.names {
		for _, q := range ns.queue {
			n.deliver(q, nil, ErrClosed)
		}
		ns.queue = nil
		if req := ns.active; req != nil {
			n.m.Cancel(now, name)
			n.deliver(req, nil, ErrClosed)
		}
		if l := ns.lease; l != nil {
			// R15: a stop is not the holder's decision. The tenure is
			// abandoned, never released: a goroutine may be in mid-action
			// for the margin m, and a client of an agent may hold a
			// deadline handed on from this one. The voters let the lease
			// expire.
			l.end(ErrClosed)
			_ = n.m.Abandon(now, name, l.token)
		}
		delete(n.names, name)
	}
	n.toStart = nil
	n.stats.held.Store(0)
	n.stats.pending.Store(0)
}

// mapErr translates the protocol's request errors into the node's.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, protocol.ErrHeld):
		return fmt.Errorf("%w: %w", ErrHeld, err)
	case errors.Is(err, protocol.ErrContended):
		return fmt.Errorf("%w: %w", ErrContended, err)
	case errors.Is(err, protocol.ErrStopped):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, protocol.ErrBadName):
		return &sentinelError{ErrBadName, err}
	case errors.Is(err, protocol.ErrBadTTL):
		return &sentinelError{ErrBadTTL, err}
	case errors.Is(err, protocol.ErrValueTooLarge):
		return &sentinelError{ErrValueTooLarge, err}
	case errors.Is(err, protocol.ErrTokensExhausted):
		return &sentinelError{ErrTokensExhausted, err}
	}
	return err
}

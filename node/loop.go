package node

import (
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// maxBatch is how many already-waiting datagrams the owner goroutine steps
// through before it flushes: answers to many requests then share datagrams.
const maxBatch = 64

// endKind says why a Lease handle reports its end to the owner goroutine.
type endKind int

const (
	endRelease endKind = 1 + iota // Lease.Release: tell the voters
	endAbandon                    // Lease.Abandon: tell nobody
	endLost                       // the lease's own timer fired first
)

// endItem is a tenure whose handle has already ended, for the machine to
// learn about. Handles end first and tell the machine after (R10), without
// ever blocking on the owner goroutine.
type endItem struct {
	lease *Lease
	kind  endKind
	sent  chan struct{} // closed once the resulting messages were sent
}

// enqueueEnd hands an ended tenure to the owner goroutine without
// blocking. It reports false if the node has stopped.
func (n *Node) enqueueEnd(it endItem) bool {
	n.endMu.Lock()
	if n.closed {
		n.endMu.Unlock()
		return false
	}
	n.endq = append(n.endq, it)
	n.endMu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
	return true
}

// run is the owner goroutine. After every input (and the inputs already
// waiting behind it, gather) it flushes the machine's output: era to disk,
// then messages, then events (protocol.Output's contract); then it re-arms
// the one wake-up timer to NextWake.
func (n *Node) run() {
	defer close(n.done)
	defer n.teardown()
	// The machine's first output (Hellos of a start to verify, R18): its
	// era and bounds were made durable by New.
	n.send(n.initial.Messages)
	n.dispatch(n.initial.Events)
	n.initial = protocol.Output{}
	if !n.settle() {
		return
	}
	n.rearm()
	for {
		// Answers already received go first: under load, handling them
		// before the timer keeps the machine from resending requests whose
		// answers are waiting in the queue.
		select {
		case b := <-n.in:
			n.receiveBatch(b)
			if !n.settle() || n.exit {
				return
			}
			n.rearm()
			continue
		default:
		}
		select {
		case <-n.quit:
			return
		case f := <-n.ops:
			f()
			n.gather()
		case b := <-n.in:
			n.receiveBatch(b)
		case <-n.kick:
			n.takeEnded()
		case <-n.timer.C:
			n.timerAt = protocol.Never
			n.m.Tick(n.now())
		}
		if !n.settle() || n.exit {
			return
		}
		n.rearm()
	}
}

// receiveBatch steps the machine with b and with up to maxBatch-1 more
// datagrams that are already waiting.
func (n *Node) receiveBatch(b []byte) {
	n.receive(b)
	for range maxBatch - 1 {
		select {
		case b := <-n.in:
			n.receive(b)
		default:
			return
		}
	}
}

// gather takes more inputs that are already waiting, API calls and
// received datagrams, up to maxBatch, before the caller flushes: under
// load their messages then share datagrams, where each request used to
// cost a datagram to every voter (issue 16: the sends were most of a busy
// client's CPU). It waits for nothing, and stops as soon as the machine
// wants a Tick now (a deferred message must leave before any later input,
// see settle) or the loop is to exit.
func (n *Node) gather() {
	for range maxBatch {
		if n.exit || n.m.NextWake() <= n.now() {
			return
		}
		select {
		case f := <-n.ops:
			f()
		case b := <-n.in:
			n.receive(b)
		default:
			return
		}
	}
}

// flush handles everything the machine produced, in the order its contract
// demands. Dispatching events may produce more (a queued request starts,
// a late tenure is released), so it repeats until the machine is quiet. It
// reports false if the era could not be made durable: the node must stop
// without sending (R12).
func (n *Node) flush() bool {
	for range 16 {
		out := n.m.Ready()
		if out.Empty() {
			break
		}
		if err := n.persist(out); err != nil {
			n.log.Error("cannot persist era, bounds or peers; stopping", "era", out.PersistEra, "bounds", out.PersistBounds, "err", err)
			return false
		}
		n.send(out.Messages)
		if len(out.Events) > 0 {
			n.sendQueued() // the Output's messages leave before its events
		}
		n.dispatch(out.Events)
	}
	return true
}

// persist makes an output's era floor (R12), bounds (R19) and memory of
// peers' starts (R18) durable; its messages must not leave before it
// returns nil.
func (n *Node) persist(out protocol.Output) error {
	if n.store != nil {
		if out.PersistEra != 0 {
			if err := n.store.writeEra(out.PersistEra); err != nil {
				return err
			}
		}
		if !out.PersistBounds.IsZero() {
			if err := n.store.writeBounds(out.PersistBounds); err != nil {
				return err
			}
		}
		if out.PersistPeers != nil {
			if err := n.store.writePeers(out.PersistPeers); err != nil {
				return err
			}
		}
		if out.PersistConfig != nil {
			// R21, R22: the adopted configuration and the slot's promises
			// are durable before any message that depends on them.
			if err := n.store.writeConfig(out.PersistConfig); err != nil {
				return err
			}
		}
	}
	if out.PersistEra != 0 {
		n.stats.era.Store(out.PersistEra)
	}
	return nil
}

// settle flushes, and ticks the machine at once while it wants to be woken
// now: the machine defers some messages (the first copy of a Release, R10)
// to the Tick after the Output whose events announce the end, and they
// must leave before any later input can put a message of its own ahead of
// them. Messages are queued per peer and leave, in order, before the
// events of their Output are delivered, or at the end: outputs without
// events share datagrams with what follows them (sendQueued). Callers
// waiting for their messages to leave are then told. If an era cannot be
// made durable nothing more is sent.
func (n *Node) settle() bool {
	for range 16 {
		if !n.flush() {
			return false
		}
		if now := n.now(); n.m.NextWake() <= now {
			n.m.Tick(now)
			continue
		}
		if !n.startDeferred() {
			break
		}
	}
	if len(n.toStart) > 0 { // still busy: come back without waiting for input
		select {
		case n.kick <- struct{}{}:
		default:
		}
	}
	n.sendQueued()
	for _, c := range n.sentq {
		close(c)
	}
	clear(n.sentq)
	n.sentq = n.sentq[:0]
	return true
}

// rearm points the wake-up timer at the machine's NextWake.
func (n *Node) rearm() {
	n.noteMachine()
	next := n.m.NextWake()
	if next == n.timerAt {
		return
	}
	n.timer.Stop()
	select { // a fired, unread timer must not deliver a stale tick
	case <-n.timer.C:
	default:
	}
	n.timerAt = next
	if next == protocol.Never {
		return
	}
	d := time.Duration(0)
	if now := n.now(); next > now {
		d = next.Sub(now)
	}
	n.timer.Reset(d)
}

// takeEnded tells the machine about tenures whose handles ended.
func (n *Node) takeEnded() {
	n.endMu.Lock()
	items := n.endq
	n.endq = nil
	n.endMu.Unlock()
	now := n.now()
	for _, it := range items {
		l := it.lease
		if ns := n.names[l.name]; ns != nil && ns.lease == l {
			switch it.kind {
			case endRelease:
				_ = n.m.Release(now, l.name, l.token)
			case endLost, endAbandon:
				// A lost tenure is never released: the holder may have
				// started an action just before it learned, and that action
				// may run on for the margin m; the voters let the lease
				// expire after it (R10, R8).
				_ = n.m.Abandon(now, l.name, l.token)
			}
			// Free the name now; the next local caller starts once the
			// Release has left (startLater).
			n.tenureOver(ns, l, ErrReleased)
		}
		if it.sent != nil {
			n.sentq = append(n.sentq, it.sent)
		}
	}
}

// dispatch delivers the machine's events to waiting callers and handles.
func (n *Node) dispatch(evs []protocol.Event) {
	for i := range evs {
		e := &evs[i]
		switch e.Kind {
		case protocol.EventQuery:
			n.answerQuery(e)
			continue
		case protocol.EventConfig, protocol.EventReconfigured:
			n.configEvent(e)
			continue
		}
		ns := n.names[e.Name]
		if ns == nil {
			continue
		}
		switch e.Kind {
		case protocol.EventAcquired:
			n.granted(ns, e)
		case protocol.EventFailed:
			n.failed(ns, e)
		case protocol.EventRenewed:
			n.stats.renewal.observe(n.now().Sub(e.Started))
			if l := ns.lease; l != nil && l.token == e.Token {
				l.extend(n.localTime(e.Deadline))
			}
		case protocol.EventLost:
			if l := ns.lease; l != nil && l.token == e.Token {
				n.tenureOver(ns, l, ErrLost)
			}
		case protocol.EventReleased:
			if l := ns.lease; l != nil && l.token == e.Token {
				n.tenureOver(ns, l, ErrReleased)
			}
		}
	}
}

// teardown runs when the owner goroutine exits, for any reason: every
// handle and every waiting caller learns that the node stopped.
func (n *Node) teardown() {
	n.endMu.Lock()
	n.closed = true
	n.endq = nil
	n.endMu.Unlock()
	n.closeAll()
	for id, c := range n.queries {
		c <- holderResult{err: ErrClosed}
		delete(n.queries, id)
	}
	for _, c := range n.sentq {
		close(c)
	}
	n.sentq = nil
	n.m.Stop()
	n.timer.Stop()
}

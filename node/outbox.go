package node

import (
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// outbox groups one Ready's messages by destination so that everything for
// one peer leaves in as few datagrams as fit (protocol.Encoder packs them):
// renewals of many leases that fall due together cost a few packets per
// peer. It is owned by the owner goroutine.
type outbox struct {
	byPeer map[string][]protocol.Message
	order  []string
	enc    *protocol.Encoder
	// released remembers this node's latest Release per lease name and
	// voter it went to, for releaseWindow, so that a later Prepare for the
	// name to that voter carries a copy of it in front (see send).
	released  map[releaseKey]recentRelease
	lastPrune protocol.Time
}

// releaseKey is a lease name and a voter a Release of it went to.
type releaseKey struct{ name, to string }

type recentRelease struct {
	msg *protocol.Release
	at  protocol.Time
}

// releaseWindow is how long a Release is copied in front of this node's
// Prepares for the same name. Beyond it the old lease has expired at every
// voter anyway.
const releaseWindow = 2 * time.Second

func newOutbox() *outbox {
	return &outbox{byPeer: map[string][]protocol.Message{}, enc: protocol.NewEncoder(), released: map[releaseKey]recentRelease{}}
}

// piggyback returns the Release to copy in front of msg, to voter to, if
// any.
//
// memberlist hands received datagrams over last-in first-out, so a Prepare
// sent just after a Release by the same node can overtake it; the voter
// then reports this node's own old lease, which blocks the new attempt
// (R7), and sends no Vacant notice to the node that released (it is the
// releaser), so the request waits for the old lease to expire. A copy of
// the Release in the same datagram, ahead of the Prepare, is processed
// first. A copy goes only to a voter the Release itself went to: the
// protocol sends a failed one-round attempt's Release only to the voters
// that recorded it (R10, R20), because at another voter the same ballot
// may be a previous incarnation's live tenure, which a copy would clear
// (found by an operator review: a node without a data dir restarted during
// a voter change was granted its name inside the previous incarnation's
// deadline). Duplicates of a Release at a voter it went to are harmless: a
// voter clears only the exact (owner, ballot) tenure.
func (ob *outbox) piggyback(now protocol.Time, to string, msg protocol.Message) *protocol.Release {
	switch m := msg.(type) {
	case *protocol.Release:
		ob.released[releaseKey{m.Name, to}] = recentRelease{msg: m, at: now}
	case *protocol.Prepare:
		if r, ok := ob.released[releaseKey{m.Name, to}]; ok && now-r.at < protocol.Time(releaseWindow) {
			return r.msg
		}
	}
	if now-ob.lastPrune > protocol.Time(releaseWindow) {
		ob.lastPrune = now
		for k, r := range ob.released {
			if now-r.at >= protocol.Time(releaseWindow) {
				delete(ob.released, k)
			}
		}
	}
	return nil
}

// send queues msgs for their peers, in order; sendQueued sends them. The
// owner goroutine sends before it delivers an Output's events and at the
// end of each pass (settle), so that messages to one peer from outputs
// without events (a Tick's deferred Releases, the starts put off behind
// them) share datagrams with what follows: sending was most of a busy
// client's CPU (issue 16).
func (n *Node) send(msgs []protocol.Envelope) {
	if len(msgs) == 0 {
		return
	}
	ob := n.outbox
	now := n.now()
	for _, e := range msgs {
		q, ok := ob.byPeer[e.To]
		if !ok || len(q) == 0 {
			ob.order = append(ob.order, e.To)
		}
		if r := ob.piggyback(now, e.To, e.Msg); r != nil {
			q = append(q, r)
		}
		ob.byPeer[e.To] = append(q, e.Msg)
	}
}

// sendQueued encodes and sends the queued messages, best effort: a lost
// datagram is retried by the protocol, never by the transport.
func (n *Node) sendQueued() {
	ob := n.outbox
	for _, to := range ob.order {
		q := ob.byPeer[to]
		if peer, ok := n.peers.route(to); !ok {
			// Not (yet, or no longer) in the member list: the protocol
			// retries, and gossip may know the peer by then.
			n.stats.unroutable.Add(uint64(len(q)))
			delete(ob.byPeer, to) // names seen once must not accumulate
		} else {
			// The form the peer says it reads: runs of renewals and
			// answers for a peer of protocol.WireVersionRuns.
			err := ob.enc.EncodeFor(protocol.Header{From: n.cfg.Name, ID: n.m.ID()}, peer.wire, q, func(b []byte) {
				n.sendDatagram(peer, b)
			})
			if err != nil {
				n.stats.sendErrors.Add(1)
				n.log.Error("encode failed", "peer", to, "err", err)
			}
			clear(q)
			ob.byPeer[to] = q[:0]
		}
	}
	ob.order = ob.order[:0]
}

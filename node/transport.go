package node

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/tenure-dev/tenure/protocol"
)

// inboundQueue is how many received datagrams may wait for the owner
// goroutine. Beyond it datagrams are dropped (and counted): the protocol
// retries, and a blocked NotifyMsg would stall memberlist's failure
// detector.
const inboundQueue = 4096

// delegate receives memberlist's callbacks. NotifyMsg runs on memberlist's
// packet goroutine: it copies the buffer and hands it off without blocking.
type delegate struct {
	n    *Node
	meta memberMeta
}

// NodeMeta implements memberlist.Delegate.
func (d *delegate) NodeMeta(limit int) []byte {
	if b := d.meta.encode(limit); len(b) <= limit {
		return b
	}
	return nil
}

// NotifyMsg implements memberlist.Delegate. It never blocks.
func (d *delegate) NotifyMsg(b []byte) {
	if len(b) > 0 && b[0] == annTag {
		// A gossiped announcement (announce.go): small, decoded here
		// without blocking.
		d.n.receiveAnnouncement(b)
		return
	}
	d.n.stats.packetsIn.Add(1)
	d.n.stats.bytesIn.Add(uint64(len(b)))
	if len(b) > protocol.MaxDatagram {
		// Refused before it is even copied.
		d.n.stats.malformed.Add(1)
		return
	}
	buf := bytes.Clone(b)
	select {
	case d.n.in <- buf:
	default:
		d.n.stats.queueFull.Add(1)
	}
}

// GetBroadcasts implements memberlist.Delegate: the node gossips its
// election announcements (announce.go) and nothing else.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.n.ann.queue.GetBroadcasts(overhead, limit)
}

// LocalState implements memberlist.Delegate: no push/pull state.
func (d *delegate) LocalState(join bool) []byte { return nil }

// MergeRemoteState implements memberlist.Delegate: no push/pull state.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {}

// Member describes one node of the cluster as gossip sees it. It is a hint:
// liveness by gossip decides nothing (R1).
type Member struct {
	// Name is the node's name.
	Name string
	// Addr is its "host:port".
	Addr string
	// Voter reports whether the node says it is a voter.
	Voter bool
	// Wire is the protocol wire version it speaks (0 if unknown).
	Wire byte
	// Cluster is the cluster ID it says it runs, and Fingerprint the
	// fingerprint of its voter list (protocol.Fingerprint); both empty for
	// a node of an older version. VoterList is its sorted voter list,
	// comma-separated, if it fitted in its gossip metadata.
	Cluster     string
	Fingerprint uint64
	VoterList   string
	// NodeID is the ID of its data dir (made at the dir's first start;
	// random per process without one), in hex.
	NodeID string
	// Mismatch reports that its cluster ID or voter list differs from
	// this node's (R17): each side refuses the other's datagrams. Fix
	// the configuration; see Stats.MismatchedMembers.
	Mismatch bool
}

// peers maps node names to memberlist nodes so that the owner goroutine can
// address a protocol message by name. memberlist keeps it current through
// the EventDelegate methods, which may run with memberlist's locks held:
// they only take peers' own lock.
type peers struct {
	mu    sync.RWMutex
	nodes map[string]*memberlist.Node
	// gone, if set, is told of each member that left or died.
	gone func(name string)
}

func (p *peers) put(n *memberlist.Node) {
	c := *n
	c.Meta = bytes.Clone(n.Meta)
	p.mu.Lock()
	p.nodes[c.Name] = &c
	p.mu.Unlock()
}

// NotifyJoin implements memberlist.EventDelegate.
func (p *peers) NotifyJoin(n *memberlist.Node) { p.put(n) }

// NotifyUpdate implements memberlist.EventDelegate.
func (p *peers) NotifyUpdate(n *memberlist.Node) { p.put(n) }

// NotifyLeave implements memberlist.EventDelegate.
func (p *peers) NotifyLeave(n *memberlist.Node) {
	p.mu.Lock()
	delete(p.nodes, n.Name)
	p.mu.Unlock()
	if p.gone != nil {
		p.gone(n.Name)
	}
}

// count is how many members gossip knows, this node included.
func (p *peers) count() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.nodes)
}

func (p *peers) get(name string) *memberlist.Node {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.nodes[name]
}

// list describes the members; self is this node's identity, against
// which Mismatch is judged.
func (p *peers) list(self protocol.Identity) []Member {
	p.mu.RLock()
	out := make([]Member, 0, len(p.nodes))
	for _, n := range p.nodes {
		m, _ := decodeMeta(n.Meta)
		mb := Member{Name: n.Name, Addr: n.Address(), Voter: m.voter, Wire: m.wire}
		if m.ext {
			mb.Cluster, mb.Fingerprint, mb.VoterList, mb.NodeID = m.id.Cluster, m.id.Voters, m.voters, m.nodeIDString()
			mb.Mismatch = m.id != self
		}
		out = append(out, mb)
	}
	p.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// outbox groups one Ready's messages by destination so that everything for
// one peer leaves in as few datagrams as fit (protocol.Encoder packs them):
// renewals of many leases that fall due together cost a few packets per
// peer. It is owned by the owner goroutine.
type outbox struct {
	byPeer map[string][]protocol.Message
	order  []string
	enc    *protocol.Encoder
	// released remembers this node's latest Release per lease name, for
	// releaseWindow, so that a later Prepare for the name carries a copy
	// of it in front (see send).
	released  map[string]recentRelease
	lastPrune protocol.Time
}

type recentRelease struct {
	msg *protocol.Release
	at  protocol.Time
}

// releaseWindow is how long a Release is copied in front of this node's
// Prepares for the same name. Beyond it the old lease has expired at every
// voter anyway.
const releaseWindow = 2 * time.Second

func newOutbox() *outbox {
	return &outbox{byPeer: map[string][]protocol.Message{}, enc: protocol.NewEncoder(), released: map[string]recentRelease{}}
}

// piggyback returns the Release to copy in front of msg, if any.
//
// memberlist hands received datagrams over last-in first-out, so a Prepare
// sent just after a Release by the same node can overtake it; the voter
// then reports this node's own old lease, which blocks the new attempt
// (R7), and sends no Vacant notice to the node that released (it is the
// releaser), so the request waits for the old lease to expire. A copy of
// the Release in the same datagram, ahead of the Prepare, is processed
// first. Duplicate Releases are harmless: a voter clears only the exact
// (owner, ballot) tenure (R10).
func (ob *outbox) piggyback(now protocol.Time, msg protocol.Message) *protocol.Release {
	switch m := msg.(type) {
	case *protocol.Release:
		ob.released[m.Name] = recentRelease{msg: m, at: now}
	case *protocol.Prepare:
		if r, ok := ob.released[m.Name]; ok && now-r.at < protocol.Time(releaseWindow) {
			return r.msg
		}
	}
	if now-ob.lastPrune > protocol.Time(releaseWindow) {
		ob.lastPrune = now
		for name, r := range ob.released {
			if now-r.at >= protocol.Time(releaseWindow) {
				delete(ob.released, name)
			}
		}
	}
	return nil
}

// send encodes and sends msgs, best effort: a lost datagram is retried by
// the protocol, never by the transport.
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
		if r := ob.piggyback(now, e.Msg); r != nil {
			q = append(q, r)
		}
		ob.byPeer[e.To] = append(q, e.Msg)
	}
	for _, to := range ob.order {
		q := ob.byPeer[to]
		if peer := n.peers.get(to); peer == nil {
			// Not (yet, or no longer) in the member list: the protocol
			// retries, and gossip may know the peer by then.
			n.stats.unroutable.Add(uint64(len(q)))
			delete(ob.byPeer, to) // names seen once must not accumulate
		} else {
			err := ob.enc.Encode(protocol.Header{From: n.cfg.Name, ID: n.m.ID()}, q, func(b []byte) {
				if err := n.ml.SendBestEffort(peer, b); err != nil {
					n.stats.sendErrors.Add(1)
					n.log.Debug("send failed", "peer", to, "err", err)
					return
				}
				n.stats.packetsOut.Add(1)
				n.stats.bytesOut.Add(uint64(len(b)))
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

// receive decodes one datagram and steps the machine with its messages.
// Anything the decoder refuses, or that claims to come from this node, is
// dropped and counted.
func (n *Node) receive(b []byte) {
	h, msgs, err := n.dec.Decode(b)
	if err != nil {
		n.stats.malformed.Add(1)
		n.log.Debug("dropped datagram", "err", err, "bytes", len(b))
		return
	}
	from := h.From
	if from == n.cfg.Name {
		n.stats.malformed.Add(1)
		n.log.Debug("dropped datagram claiming to be from this node")
		return
	}
	if !n.m.Admit(h) {
		n.reportMismatch(h)
		return
	}
	now := n.now()
	for _, msg := range msgs {
		n.answers.note(from, msg, now)
		n.m.Step(now, from, msg)
	}
}

// logWriter turns memberlist's "[LEVEL] memberlist: text" lines into slog
// records.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	level := slog.LevelInfo
	for _, l := range []struct {
		tag   string
		level slog.Level
	}{{"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelInfo}, {"[WARN]", slog.LevelWarn}, {"[ERR]", slog.LevelError}} {
		if i := bytes.Index(p, []byte(l.tag)); i >= 0 {
			level = l.level
			line = string(bytes.TrimSpace(p[i+len(l.tag):]))
			break
		}
	}
	if w.log.Enabled(context.Background(), level) {
		w.log.Log(context.Background(), level, line, "component", "memberlist")
	}
	return len(p), nil
}

func newStdLogger(l *slog.Logger) *log.Logger { return log.New(logWriter{log: l}, "", 0) }

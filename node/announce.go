package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/memberlist"

	"github.com/tenure-dev/tenure/protocol"
)

// Announcements are how a holder tells the cluster, by gossip, that a
// tenure began, was renewed or ended, so that observers (Observe) learn of
// it within a gossip round instead of at their next query of the voters.
// They are hints (R14): nobody acts on one as if it held or did not hold a
// lease.
//
// They travel as memberlist user broadcasts (a TransmitLimitedQueue behind
// Delegate.GetBroadcasts) and arrive through Delegate.NotifyMsg, the same
// path as the protocol's datagrams. The first byte tells them apart.
//
// Wire format (all integers big-endian):
//
//	byte 0        annTag
//	byte 1        kind (annTenure or annEnded)
//	bytes 2..9    token (uint64, never 0)
//	bytes 10..17  remaining (int64 nanoseconds, >= 0): how long the holder
//	              will act under the tenure, measured on its own clock when
//	              the datagram left. A duration, never an instant (R13).
//	u16 + bytes   lease name
//	u8 + bytes    holder node name
//	u16 + bytes   value
const (
	// annTag is the first byte of an announcement. Protocol datagrams
	// start with protocol.WireVersion, which counts up from 1; tags of the
	// node's own user messages count down from 0xFF. ONLY APPEND (add
	// 0xFE next), and never reuse a value the protocol may take.
	annTag byte = 0xFF
	// annFixed is the length of an announcement's fixed-width part.
	annFixed = 2 + 8 + 8
)

// Announcement kinds (byte 1). ONLY APPEND; the zero value is invalid.
const (
	// annTenure: the tenure is live, for Remaining more.
	annTenure byte = 1 + iota
	// annEnded: the tenure is over (released, abandoned or lost).
	annEnded
)

// annRetransmitMult is the retransmit multiplier of the announcement
// queue: each announcement goes to about this many times log10(members+1)
// peers in gossip rounds. It is larger than memberlist's default (4) so
// that a small cluster hears of a change in one pass; observers' queries
// of the voters cover any member the gossip missed.
const annRetransmitMult = 8

// errAnnouncement wraps every reason an announcement is refused.
var errAnnouncement = errors.New("node: bad announcement")

// announcement is one decoded announcement, or one about to be sent.
type announcement struct {
	kind      byte
	name      string
	node      string
	token     uint64
	remaining time.Duration
	value     []byte
}

// encode appends the announcement to b.
func (a *announcement) encode(b []byte) []byte {
	b = append(b, annTag, a.kind)
	b = binary.BigEndian.AppendUint64(b, a.token)
	b = binary.BigEndian.AppendUint64(b, uint64(max(a.remaining, 0)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.name)))
	b = append(b, a.name...)
	b = append(b, byte(len(a.node)))
	b = append(b, a.node...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.value)))
	return append(b, a.value...)
}

// decodeAnnouncement reads what encode wrote. It copies everything it
// keeps out of b, and refuses anything out of bounds: an unknown kind, a
// zero token, a negative remaining time, an invalid lease or node name, a
// value over protocol.MaxValueLen, truncation or trailing bytes.
func decodeAnnouncement(b []byte) (announcement, error) {
	var a announcement
	if len(b) < annFixed || b[0] != annTag {
		return a, fmt.Errorf("%w: %d bytes, header too short", errAnnouncement, len(b))
	}
	a.kind = b[1]
	if a.kind != annTenure && a.kind != annEnded {
		return a, fmt.Errorf("%w: kind %d", errAnnouncement, a.kind)
	}
	a.token = binary.BigEndian.Uint64(b[2:])
	rem := int64(binary.BigEndian.Uint64(b[10:]))
	if a.token == 0 || rem < 0 {
		return a, fmt.Errorf("%w: token %d, remaining %d", errAnnouncement, a.token, rem)
	}
	a.remaining = time.Duration(rem)
	rest := b[annFixed:]
	field := func(width, limit int) ([]byte, error) {
		if len(rest) < width {
			return nil, fmt.Errorf("%w: truncated", errAnnouncement)
		}
		n := int(rest[0])
		if width == 2 {
			n = int(binary.BigEndian.Uint16(rest))
		}
		rest = rest[width:]
		if n > limit || n > len(rest) {
			return nil, fmt.Errorf("%w: field of %d bytes (limit %d, %d left)", errAnnouncement, n, limit, len(rest))
		}
		f := rest[:n]
		rest = rest[n:]
		return f, nil
	}
	name, err := field(2, protocol.MaxNameLen)
	if err != nil {
		return a, err
	}
	if err := protocol.CheckName(string(name)); err != nil {
		return a, fmt.Errorf("%w: %w", errAnnouncement, err)
	}
	node, err := field(1, protocol.MaxNodeNameLen)
	if err != nil {
		return a, err
	}
	if len(node) == 0 || !utf8.Valid(node) {
		return a, fmt.Errorf("%w: holder name %q", errAnnouncement, node)
	}
	value, err := field(2, protocol.MaxValueLen)
	if err != nil {
		return a, err
	}
	if len(rest) != 0 {
		return a, fmt.Errorf("%w: %d trailing bytes", errAnnouncement, len(rest))
	}
	a.name, a.node = string(name), string(node)
	if len(value) > 0 {
		a.value = append([]byte(nil), value...)
	}
	return a, nil
}

// announcer is a node's gossip side of elections: the queue of its own
// announcements and the observers that want to hear others'. It is safe
// for concurrent use; memberlist's goroutines call into it.
type announcer struct {
	n        *Node
	queue    *memberlist.TransmitLimitedQueue
	received atomic.Uint64 // well-formed announcements from other nodes

	mu        sync.Mutex
	observers map[string]map[*observer]struct{}
}

func newAnnouncer(n *Node) *announcer {
	return &announcer{
		n: n,
		queue: &memberlist.TransmitLimitedQueue{
			NumNodes:       n.peers.count,
			RetransmitMult: annRetransmitMult,
		},
		observers: map[string]map[*observer]struct{}{},
	}
}

// broadcast is one queued announcement. A tenure's remaining time is
// computed each time memberlist takes the message, so a copy sent late in
// the gossip carries a current duration; the message's length never
// changes (the queue requires it).
type broadcast struct {
	a     announcement
	lease *Lease // set for annTenure: Message reads its deadline
}

// Invalidates implements memberlist.Broadcast: a newer announcement of a
// lease name replaces an older one still queued.
func (b *broadcast) Invalidates(o memberlist.Broadcast) bool {
	ob, ok := o.(*broadcast)
	return ok && ob.a.name == b.a.name
}

// Name implements memberlist.NamedBroadcast.
func (b *broadcast) Name() string { return b.a.name }

// Message implements memberlist.Broadcast.
func (b *broadcast) Message() []byte {
	a := b.a
	if b.lease != nil {
		a.remaining = b.lease.remaining()
	}
	return a.encode(make([]byte, 0, annFixed+5+len(a.name)+len(a.node)+len(a.value)))
}

// Finished implements memberlist.Broadcast.
func (b *broadcast) Finished() {}

// remaining is how long from now the holder may still act under l.
func (l *Lease) remaining() time.Duration {
	return max(l.Deadline().Sub(l.n.clock.Now()), 0)
}

// announceTenure gossips that l is live (a grant or a renewal), and tells
// this node's own observers at once. It runs on the owner goroutine.
func (n *Node) announceTenure(l *Lease) {
	if !l.announce {
		return
	}
	b := &broadcast{a: announcement{kind: annTenure, name: l.name, node: n.cfg.Name, token: l.token, value: l.value}, lease: l}
	n.ann.queue.QueueBroadcast(b)
	a := b.a
	a.remaining = l.remaining()
	n.ann.route(a)
}

// announceEnd gossips that l is over. It runs on the owner goroutine.
func (n *Node) announceEnd(l *Lease) {
	if !l.announce {
		return
	}
	a := announcement{kind: annEnded, name: l.name, node: n.cfg.Name, token: l.token}
	n.ann.queue.QueueBroadcast(&broadcast{a: a})
	n.ann.route(a)
}

// receiveAnnouncement handles an announcement from NotifyMsg: it decodes
// b and hands it to the observers of its name, without blocking. A bad
// announcement is dropped and counted with the malformed datagrams.
func (n *Node) receiveAnnouncement(b []byte) {
	a, err := decodeAnnouncement(b)
	if err != nil {
		n.stats.malformed.Add(1)
		n.log.Debug("dropped announcement", "err", err, "bytes", len(b))
		return
	}
	if a.node == n.cfg.Name {
		// This node's own announcements reach its observers directly; a
		// copy claiming to come from it is someone else's mistake.
		n.stats.malformed.Add(1)
		return
	}
	a.remaining = min(a.remaining, n.cfg.MaxTTL)
	n.ann.received.Add(1)
	n.ann.route(a)
}

// route hands a to every observer of its name, never blocking: an
// observer whose inbox is full misses it and catches up from the voters.
func (an *announcer) route(a announcement) {
	at := an.n.clock.Now()
	an.mu.Lock()
	defer an.mu.Unlock()
	for o := range an.observers[a.name] {
		select {
		case o.inbox <- news{a: a, at: at}:
		default:
		}
	}
}

func (an *announcer) add(o *observer) {
	an.mu.Lock()
	defer an.mu.Unlock()
	m := an.observers[o.name]
	if m == nil {
		m = map[*observer]struct{}{}
		an.observers[o.name] = m
	}
	m[o] = struct{}{}
}

func (an *announcer) remove(o *observer) {
	an.mu.Lock()
	defer an.mu.Unlock()
	delete(an.observers[o.name], o)
	if len(an.observers[o.name]) == 0 {
		delete(an.observers, o.name)
	}
}

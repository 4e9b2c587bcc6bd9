package node

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// Stats are a node's counters since it started. Packet counts are protocol
// datagrams (memberlist's own gossip is not counted).
type Stats struct {
	// Era is the node's current era floor (the high half of the fencing
	// tokens it issues).
	Era uint32
	// Held is how many tenures this node holds; Pending how many acquire
	// requests are in progress or queued behind a local holder.
	Held, Pending int
	// Members is how many nodes gossip knows as alive, this one included.
	Members int
	// PacketsSent and BytesSent count protocol datagrams handed to the
	// network (their protocol bytes, without framing or encryption);
	// PacketsReceived and BytesReceived those received, directly or
	// through memberlist (as they arrived: direct ones with their framing).
	PacketsSent, BytesSent, PacketsReceived, BytesReceived uint64
	// DroppedFull counts received datagrams dropped because the owner
	// goroutine was behind (its queue was full).
	DroppedFull uint64
	// DroppedMalformed counts received datagrams the decoder refused:
	// garbage, truncated, oversized, an unknown version or type, or a
	// sender claiming to be this node; and gossiped election
	// announcements refused for the same reasons.
	DroppedMalformed uint64
	// DroppedForeign counts direct protocol datagrams refused because
	// they are not this cluster's: another Label, sealed under another
	// SecretKey (or altered on the way), plaintext while this node has a
	// key, or sealed while it has none. A misconfigured node, or someone
	// else's traffic. (memberlist drops its own such packets, and logs
	// them.)
	DroppedForeign uint64
	// DroppedUnroutable counts messages addressed to a node that gossip
	// does not know (yet); the protocol retries them.
	DroppedUnroutable uint64
	// SendErrors counts datagrams the transport refused to send.
	SendErrors uint64
	// Quarantined reports whether this node, a voter that may have forgotten
	// promises, still sits out its quarantine (R9), or still waits for its
	// peers to confirm that it did not start from a stale copy of its data
	// dir (R18); QuarantineLeft is how long it has to go at most.
	Quarantined    bool
	QuarantineLeft time.Duration
	// Verifying reports that this voter's start still waits for its peers'
	// confirmation (R18); StaleStart that a peer found the start stale (or
	// none confirmed it in time), so it became a crashed start.
	Verifying, StaleStart bool
	// Boot is this start's number: the data dir's start counter (R18), 0
	// without a DataDir.
	Boot uint64
	// MismatchedDatagrams counts protocol datagrams refused because their
	// sender runs another cluster ID or voter list (R17); the same figure
	// as Protocol.Mismatched.
	MismatchedDatagrams uint64
	// MismatchedMembers is how many members gossip knows whose cluster ID
	// or voter list differs from this node's (R17). Each was logged at
	// ERROR, naming both sides' lists. Anything but 0 is a
	// misconfiguration to fix.
	MismatchedMembers int
	// DuplicateNames counts conflicts over a node name seen in gossip
	// (R18): another live process claiming this node's name, or two
	// processes claiming another member's. Each was logged at ERROR.
	DuplicateNames uint64
	// Renewal is the latency of this node's renewal rounds that won: from
	// a round's first Propose to the accept of a majority of voters.
	Renewal Latency
	// Protocol holds the protocol machine's totals: messages sent and
	// received by type, rounds started, lost to contention or blocked by a
	// holder, and tenures acquired, lost and released. It is a copy taken
	// after the owner goroutine's last step.
	Protocol protocol.Counters
}

// counters are updated from memberlist's goroutines and the owner
// goroutine; Stats reads them without stopping either.
type counters struct {
	packetsIn, bytesIn, packetsOut, bytesOut atomic.Uint64
	queueFull, malformed, unroutable         atomic.Uint64
	foreign, directIn, directOut             atomic.Uint64
	sendErrors                               atomic.Uint64
	held, pending                            atomic.Int64
	era                                      atomic.Uint32
	duplicates                               atomic.Uint64

	renewal latencyHist // written by the owner goroutine only

	protoMu sync.Mutex
	proto   protocol.Counters // copied by the owner goroutine after each step
	// Copied with proto: the quarantine's end on the node's clock (zero if
	// none), and the start's verification.
	quarantineEnd         time.Time
	verifying, staleStart bool
}

// noteMachine copies what Stats reports of the machine. It runs on the
// owner goroutine (or in New, before it starts).
func (n *Node) noteMachine() {
	now := n.now()
	var end time.Time
	if n.m.IsVoter() && n.m.Quarantined(now) {
		end = n.localTime(n.m.QuarantineUntil())
	}
	s := &n.stats
	stale := n.m.StaleStart()
	s.protoMu.Lock()
	was := s.staleStart
	s.proto = n.m.Counters()
	s.quarantineEnd = end
	s.verifying, s.staleStart = n.m.Verifying(), stale
	s.protoMu.Unlock()
	if stale && !was {
		n.log.Warn("start not confirmed: a voter has seen a newer start of this data dir (a restored or copied dir?), or none answered in time; starting as after a crash (R18)",
			"boot", n.boot, "era", n.m.Era(), "quarantine_left", max(end.Sub(n.clock.Now()), 0))
	}
}

// Stats returns the node's counters. It never blocks on the owner
// goroutine.
func (n *Node) Stats() Stats {
	s := &n.stats
	s.protoMu.Lock()
	proto, end, verifying, stale := s.proto, s.quarantineEnd, s.verifying, s.staleStart
	s.protoMu.Unlock()
	var left time.Duration
	if !end.IsZero() {
		left = max(end.Sub(n.clock.Now()), 0)
	}
	return Stats{
		Quarantined:         left > 0,
		QuarantineLeft:      left,
		Verifying:           verifying,
		StaleStart:          stale,
		Boot:                n.boot,
		MismatchedDatagrams: proto.Mismatched,
		MismatchedMembers:   n.guard.mismatched(),
		DuplicateNames:      s.duplicates.Load(),
		Protocol:            proto,
		Era:                 s.era.Load(),
		Held:                int(s.held.Load()),
		Pending:             int(s.pending.Load()),
		Members:             n.ml.NumMembers(),
		PacketsSent:         s.packetsOut.Load(),
		BytesSent:           s.bytesOut.Load(),
		PacketsReceived:     s.packetsIn.Load(),
		BytesReceived:       s.bytesIn.Load(),
		DroppedFull:         s.queueFull.Load(),
		DroppedMalformed:    s.malformed.Load(),
		DroppedForeign:      s.foreign.Load(),
		DroppedUnroutable:   s.unroutable.Load(),
		SendErrors:          s.sendErrors.Load(),
		Renewal:             s.renewal.snapshot(),
	}
}

// LatencyBuckets are the upper bounds of a Latency's buckets: 0.25 ms
// doubling to about 8.2 s.
var LatencyBuckets = func() []time.Duration {
	b := make([]time.Duration, latencyBuckets)
	for i := range b {
		b[i] = 250 * time.Microsecond << i
	}
	return b
}()

// latencyBuckets is how many finite buckets a Latency has.
const latencyBuckets = 16

// Latency is a histogram of durations.
type Latency struct {
	// Count is how many durations were observed; Sum their total.
	Count uint64
	Sum   time.Duration
	// Buckets[i] is how many were at most LatencyBuckets[i] (cumulative).
	Buckets []uint64
}

// latencyHist records durations without allocating: one writer (the owner
// goroutine), any number of readers.
type latencyHist struct {
	counts [latencyBuckets + 1]atomic.Uint64 // the last: above every bound
	sumNS  atomic.Int64
}

// observe records d.
func (h *latencyHist) observe(d time.Duration) {
	d = max(d, 0)
	i := 0
	for i < latencyBuckets && d > LatencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNS.Add(int64(d))
}

// snapshot reads h. Count is the sum of the buckets read, so that the
// cumulative counts never exceed it.
func (h *latencyHist) snapshot() Latency {
	l := Latency{Buckets: make([]uint64, latencyBuckets), Sum: time.Duration(h.sumNS.Load())}
	for i := range latencyBuckets {
		l.Count += h.counts[i].Load()
		l.Buckets[i] = l.Count
	}
	l.Count += h.counts[latencyBuckets].Load()
	return l
}

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
	// network; PacketsReceived and BytesReceived those memberlist delivered.
	PacketsSent, BytesSent, PacketsReceived, BytesReceived uint64
	// DroppedFull counts received datagrams dropped because the owner
	// goroutine was behind (its queue was full).
	DroppedFull uint64
	// DroppedMalformed counts received datagrams the decoder refused:
	// garbage, truncated, oversized, an unknown version or type, or a
	// sender claiming to be this node; and gossiped election
	// announcements refused for the same reasons.
	DroppedMalformed uint64
	// DroppedUnroutable counts messages addressed to a node that gossip
	// does not know (yet); the protocol retries them.
	DroppedUnroutable uint64
	// SendErrors counts datagrams the transport refused to send.
	SendErrors uint64
	// Quarantined reports whether this node, a voter that may have forgotten
	// promises, still sits out its quarantine (R9); QuarantineLeft is how
	// long it has to go.
	Quarantined    bool
	QuarantineLeft time.Duration
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
	sendErrors                               atomic.Uint64
	held, pending                            atomic.Int64
	era                                      atomic.Uint32

	protoMu sync.Mutex
	proto   protocol.Counters // copied by the owner goroutine after each step
}

// Stats returns the node's counters. It never blocks on the owner
// goroutine.
func (n *Node) Stats() Stats {
	s := &n.stats
	s.protoMu.Lock()
	proto := s.proto
	s.protoMu.Unlock()
	var left time.Duration
	if !n.quarantineEnd.IsZero() {
		left = max(n.quarantineEnd.Sub(n.clock.Now()), 0)
	}
	return Stats{
		Quarantined:       left > 0,
		QuarantineLeft:    left,
		Protocol:          proto,
		Era:               s.era.Load(),
		Held:              int(s.held.Load()),
		Pending:           int(s.pending.Load()),
		Members:           n.ml.NumMembers(),
		PacketsSent:       s.packetsOut.Load(),
		BytesSent:         s.bytesOut.Load(),
		PacketsReceived:   s.packetsIn.Load(),
		BytesReceived:     s.bytesIn.Load(),
		DroppedFull:       s.queueFull.Load(),
		DroppedMalformed:  s.malformed.Load(),
		DroppedUnroutable: s.unroutable.Load(),
		SendErrors:        s.sendErrors.Load(),
	}
}

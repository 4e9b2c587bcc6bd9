package node

import (
	"bytes"

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
	n *Node
}

// NodeMeta implements memberlist.Delegate. The metadata follows the
// adopted voter configuration (reconfig.go).
func (d *delegate) NodeMeta(limit int) []byte {
	m := d.n.currentMeta()
	if b := m.encode(limit); len(b) <= limit {
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

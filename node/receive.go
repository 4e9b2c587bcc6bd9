package node

import "errors"

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
	now := n.now()
	// Deliver also takes datagrams of this cluster at other epochs, for
	// their configuration messages only (R21); only answers of this
	// node's own epoch count as a voter answering.
	same := h.ID == n.m.ID()
	if !n.m.Deliver(now, h, msgs) {
		n.reportMismatch(h)
		return
	}
	if same {
		for _, msg := range msgs {
			n.answers.note(from, msg, now)
		}
	}
}

// receiveDirect takes one direct datagram (direct.go) on the transport's
// read loop: it checks the label and the key, and hands the protocol
// datagram straight to the owner goroutine, without blocking. b is the
// read loop's buffer: nothing keeps it.
func (n *Node) receiveDirect(b []byte) {
	n.stats.packetsIn.Add(1)
	n.stats.bytesIn.Add(uint64(len(b)))
	p, err := n.direct.in.open(b)
	if err != nil {
		if errors.Is(err, errDirectForeign) {
			n.stats.foreign.Add(1)
		} else {
			n.stats.malformed.Add(1)
		}
		n.log.Debug("dropped direct datagram", "err", err, "bytes", len(b))
		return
	}
	n.stats.directIn.Add(1)
	select {
	case n.in <- p:
	default:
		n.stats.queueFull.Add(1)
	}
}

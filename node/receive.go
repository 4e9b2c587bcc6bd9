package node

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

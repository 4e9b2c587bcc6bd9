package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// network carries datagrams between nodes: every batch of messages for one
// peer goes through the real wire encoder, and each datagram is lost,
// duplicated and delayed on its own. Partitions cut directed links, so they
// can be asymmetric: a cut from A to B loses what A sends to B while B's
// datagrams still reach A.
type network struct {
	s     *Sim
	n     int
	cut   []int32 // cut[from*n+to]: how many partitions cut this link
	parts []partition
	slab  [][]byte // datagrams on the wire or queued, by handle
	freeH []int32  // free handles

	dests [][]protocol.Message // per destination, reused
	order []int
	from  int32 // the datagram being emitted
	to    int32
	emit  func([]byte)
	loss  float64
}

// partition is one cut of the network, from its start until it heals.
type partition struct {
	links      [][2]int // directed (from, to) pairs
	active     bool
	desc       string
	start, end int64
}

func (w *network) init(s *Sim, n int) {
	w.s = s
	w.n = n
	w.cut = make([]int32, n*n)
	w.dests = make([][]protocol.Message, n)
	w.emit = w.emitDatagram
	w.loss = s.opts.Faults.Loss
}

func (w *network) cutAt(from, to int) bool { return w.cut[from*w.n+to] > 0 }

// send encodes a node's outgoing messages, one batch per peer in the order
// the peers first appear, and puts each datagram on the wire.
func (w *network) send(n *node, msgs []protocol.Envelope) {
	st := &w.s.stats
	st.messages += uint64(len(msgs))
	w.order = w.order[:0]
	for _, env := range msgs {
		j := w.s.nodeIndex(env.To)
		if j < 0 {
			continue
		}
		if j < len(st.toVoter) {
			st.toVoter[j]++
		}
		if len(w.dests[j]) == 0 {
			w.order = append(w.order, j)
		}
		w.dests[j] = append(w.dests[j], env.Msg)
	}
	w.from = int32(n.idx)
	for _, j := range w.order {
		w.to = int32(j)
		// The compact form, as nodes of one version send each other.
		if err := w.s.enc.EncodeFor(protocol.Header{From: n.name, ID: n.m.ID()}, protocol.WireVersionRuns, w.dests[j], w.emit); err != nil {
			w.s.fail(fmt.Sprintf("encode from %s to %s: %v", n.name, w.s.nodes[j].name, err))
		}
		clear(w.dests[j])
		w.dests[j] = w.dests[j][:0]
	}
}

// emitDatagram puts one encoded datagram on the wire: maybe lost, maybe
// twice, each copy with its own delay.
func (w *network) emitDatagram(b []byte) {
	s := w.s
	s.stats.datagrams++
	if int(w.to) < len(s.stats.dgToVoter) {
		s.stats.dgToVoter[w.to]++
	}
	if w.cutAt(int(w.from), int(w.to)) {
		s.tr.add(record{at: s.now, kind: trDrop, node: uint16(w.to), peer: uint16(w.from), lease: -1, a: dropCut})
		return
	}
	f := &s.opts.Faults
	if w.loss > 0 && s.rnd.Float64() < w.loss {
		s.tr.add(record{at: s.now, kind: trDrop, node: uint16(w.to), peer: uint16(w.from), lease: -1, a: dropLoss})
		return
	}
	copies := 1
	if f.Dup > 0 && s.rnd.Float64() < f.Dup {
		copies = 2
	}
	for range copies {
		h := w.alloc(b)
		s.push(event{at: s.now + w.delay(), kind: evDeliver, node: w.to, aux: w.from, buf: h})
	}
}

// delay draws one datagram's delay.
func (w *network) delay() int64 {
	s := w.s
	f := &s.opts.Faults
	if f.Tail > 0 && s.rnd.Float64() < f.Tail {
		return s.uniform(f.DelayMax, time.Duration(w.tailMax()))
	}
	// Skewed towards the low end, as real latencies are: u³ of the range
	// puts the median at an eighth of it and keeps a long spread for
	// reordering.
	u := s.rnd.Float64()
	return int64(f.DelayMin) + int64(u*u*u*float64(f.DelayMax-f.DelayMin))
}

func (w *network) tailMax() int64 {
	if t := w.s.opts.Faults.TailMax; t > 0 {
		return int64(t)
	}
	return 2 * int64(w.s.opts.TTL)
}

// alloc copies a datagram into the slab and returns its handle.
func (w *network) alloc(b []byte) int32 {
	var h int32
	if k := len(w.freeH); k > 0 {
		h = w.freeH[k-1]
		w.freeH = w.freeH[:k-1]
	} else {
		h = int32(len(w.slab))
		w.slab = append(w.slab, make([]byte, 0, protocol.MaxDatagram))
	}
	w.slab[h] = append(w.slab[h][:0], b...)
	return h
}

// bytes is the datagram with handle h.
func (w *network) bytes(h int32) []byte { return w.slab[h] }

// free returns handle h to the slab.
func (w *network) free(h int32) { w.freeH = append(w.freeH, h) }

// onDeliver handles a datagram's arrival: dropped if the link is cut now or
// the node is down, queued if it is paused, handled otherwise.
func (s *Sim) onDeliver(e *event) {
	n := s.nodes[e.node]
	switch {
	case n.down:
		s.tr.add(record{at: s.now, kind: trDrop, node: uint16(e.node), peer: uint16(e.aux), lease: -1, a: dropDown})
		s.net.free(e.buf)
	case s.net.cutAt(int(e.aux), int(e.node)):
		s.tr.add(record{at: s.now, kind: trDrop, node: uint16(e.node), peer: uint16(e.aux), lease: -1, a: dropCut})
		s.net.free(e.buf)
	case n.paused:
		s.tr.add(record{at: s.now, kind: trQueued, node: uint16(e.node), peer: uint16(e.aux), lease: -1, b: int64(len(s.net.bytes(e.buf)))})
		n.inbox = append(n.inbox, queued{from: e.aux, buf: e.buf})
	default:
		s.stats.events++
		s.deliver(n, e.aux, s.net.bytes(e.buf))
		s.net.free(e.buf)
	}
}

// partitionLinks starts a partition over the given directed links and
// returns its id.
func (w *network) partitionLinks(links [][2]int, desc string) int {
	id := len(w.parts)
	for _, l := range links {
		w.cut[l[0]*w.n+l[1]]++
	}
	w.parts = append(w.parts, partition{links: links, active: true, desc: desc, start: w.s.now, end: -1})
	w.s.tr.add(record{at: w.s.now, kind: trPartition, node: noNode, peer: noNode, lease: -1, a: uint64(id)})
	return id
}

// heal ends partition id (a no-op if it already ended).
func (w *network) heal(id int) {
	p := &w.parts[id]
	if !p.active {
		return
	}
	p.active = false
	p.end = w.s.now
	for _, l := range p.links {
		w.cut[l[0]*w.n+l[1]]--
	}
	p.links = nil // a split of a thousand nodes lists half a million pairs
	w.s.tr.add(record{at: w.s.now, kind: trHeal, node: noNode, peer: noNode, lease: -1, a: uint64(id)})
}

// healAll ends every partition and stops losing datagrams.
func (w *network) healAll() {
	for id := range w.parts {
		w.heal(id)
	}
	w.loss = 0
}

func (s *Sim) partitionDesc(id int) string {
	if id < len(s.net.parts) {
		return s.net.parts[id].desc
	}
	return "?"
}

// split cuts every link between group a and the rest, both ways.
func (s *Sim) split(a []int) int {
	links, desc := s.splitLinks(a)
	return s.net.partitionLinks(links, desc)
}

// splitLinks are the links split(a) cuts, and its description.
func (s *Sim) splitLinks(a []int) ([][2]int, string) {
	in := make([]bool, len(s.nodes))
	for _, i := range a {
		in[i] = true
	}
	var links [][2]int
	for i := range s.nodes {
		for j := range s.nodes {
			if in[i] != in[j] {
				links = append(links, [2]int{i, j})
			}
		}
	}
	return links, "{" + s.names(a) + "} | rest"
}

// deafen makes node a deaf to the nodes in from: what they send to a is
// lost, what a sends still arrives (an asymmetric partition).
func (s *Sim) deafen(a int, from []int) int {
	links, desc := s.deafenLinks(a, from)
	return s.net.partitionLinks(links, desc)
}

// deafenLinks are the links deafen(a, from) cuts, and its description.
func (s *Sim) deafenLinks(a int, from []int) ([][2]int, string) {
	var links [][2]int
	for _, j := range from {
		if j != a {
			links = append(links, [2]int{j, a})
		}
	}
	return links, s.nodes[a].name + " hears nothing from {" + s.names(from) + "}"
}

func (s *Sim) names(ix []int) string {
	var b strings.Builder
	for k, i := range ix {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.nodes[i].name)
	}
	return b.String()
}

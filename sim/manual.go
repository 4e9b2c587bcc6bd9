package sim

import (
	"time"
)

// The methods below drive a Sim by hand, one fault or request at a time, as
// the rapid state-machine tests do (Options.Workload off). Each one acts at
// the current true time and then returns; Advance lets time pass. Requests
// that make no sense in the current state (acquiring on a down node,
// releasing a lease not held) are ignored and report false, so a random
// sequence of actions is always valid.

// Nodes is the number of nodes (voters first, then client nodes).
func (s *Sim) Nodes() int { return len(s.nodes) }

// NodeName is node i's name.
func (s *Sim) NodeName(i int) string { return s.nodes[i].name }

// Advance handles every event up to now+d (or until a violation).
func (s *Sim) Advance(d time.Duration) { s.runUntil(s.now + int64(d)) }

// Acquire makes node i's client ask for lease l.
func (s *Sim) Acquire(i, l int, wait bool) bool {
	n := s.nodes[i]
	if n.down || n.paused || n.clients[l].state != clIdle {
		return false
	}
	s.acquire(n, l, wait)
	return true
}

// Release makes node i's client release lease l if it holds it.
func (s *Sim) Release(i, l int) bool {
	n := s.nodes[i]
	if n.down || n.paused || n.clients[l].state != clHolding {
		return false
	}
	s.release(n, l)
	return true
}

// Cancel makes node i's client give up waiting for lease l.
func (s *Sim) Cancel(i, l int) bool {
	n := s.nodes[i]
	if n.down || n.paused || n.clients[l].state != clAcquiring {
		return false
	}
	s.clientAct(n, l, actCancel, n.clients[l].gen)
	return true
}

// Write makes node i's client send a fenced write for lease l if it holds
// it by its own clock.
func (s *Sim) Write(i, l int) bool {
	n := s.nodes[i]
	if n.down || n.paused || n.clients[l].state != clHolding {
		return false
	}
	tok, dl, ok := n.m.Holding(s.leases[l])
	if !ok || s.local(n) >= dl {
		return false
	}
	s.sendWrite(n.idx, l, tok)
	return true
}

// Crash crashes node i (no automatic restart).
func (s *Sim) Crash(i int) bool {
	n := s.nodes[i]
	if n.down {
		return false
	}
	s.crash(n, 0)
	return true
}

// Shutdown stops node i cleanly (no automatic restart).
func (s *Sim) Shutdown(i int) bool {
	n := s.nodes[i]
	if n.down {
		return false
	}
	s.shutdown(n, 0)
	return true
}

// Restart starts node i again if it is down.
func (s *Sim) Restart(i int) bool {
	n := s.nodes[i]
	if !n.down {
		return false
	}
	s.restart(n)
	return true
}

// Pause freezes node i for d.
func (s *Sim) Pause(i int, d time.Duration) bool {
	n := s.nodes[i]
	if n.down || n.paused {
		return false
	}
	s.pause(n, max(1, int64(d)))
	return true
}

// Split cuts the nodes in group off from the others, both ways.
func (s *Sim) Split(group []int) { s.split(group) }

// Deafen makes node i deaf to the nodes in from (an asymmetric partition).
func (s *Sim) Deafen(i int, from []int) { s.deafen(i, from) }

// Cut loses everything node from sends to node to (one direction only).
func (s *Sim) Cut(from, to int) {
	s.net.partitionLinks([][2]int{{from, to}}, s.nodes[from].name+" -/-> "+s.nodes[to].name)
}

// HealAll ends every partition.
func (s *Sim) HealAll() {
	for id := range s.net.parts {
		s.net.heal(id)
	}
}

// InFlight is the number of datagrams on the wire.
func (s *Sim) InFlight() int {
	k := 0
	for i := range s.q {
		if s.q[i].kind == evDeliver {
			k++
		}
	}
	return k
}

// inFlight finds the k-th datagram on the wire (in heap order, which is
// deterministic), k taken modulo their number.
func (s *Sim) inFlight(k int) *event {
	total := s.InFlight()
	if total == 0 {
		return nil
	}
	k %= total
	for i := range s.q {
		if s.q[i].kind == evDeliver {
			if k == 0 {
				return &s.q[i]
			}
			k--
		}
	}
	return nil
}

// DropInFlight loses the k-th datagram on the wire.
func (s *Sim) DropInFlight(k int) bool {
	e := s.inFlight(k)
	if e == nil {
		return false
	}
	s.tr.add(record{at: s.now, kind: trDrop, node: uint16(e.node), peer: uint16(e.aux), lease: -1, a: dropHand})
	e.kind = evDead
	s.net.free(e.buf)
	return true
}

// DuplicateInFlight delivers the k-th datagram on the wire a second time,
// after a fresh delay of up to extra on top of the usual.
func (s *Sim) DuplicateInFlight(k int, extra time.Duration) bool {
	e := s.inFlight(k)
	if e == nil {
		return false
	}
	h := s.net.alloc(s.net.bytes(e.buf))
	s.push(event{at: s.now + s.net.delay() + s.uniform(0, extra), kind: evDeliver, node: e.node, aux: e.aux, buf: h})
	return true
}

// StopFaults starts the quiet phase by hand: heal, restart and wake
// everything, stop losing datagrams, and from now on check liveness.
func (s *Sim) StopFaults() {
	if !s.quiet {
		s.quietAt = s.now
		s.stopFaults()
	}
}

// LivenessBound is the bound of checker (d) for this run.
func (s *Sim) LivenessBound() time.Duration { return s.bound }

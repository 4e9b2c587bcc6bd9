package sim

import "fmt"

// sendWrite sends a fenced write stamped with tok from holder j (a node or
// an edge client) to the resource, under the tenure j believes it holds
// with that token (0 if it holds none: checker c then reports the write if
// it is accepted). It usually arrives after a network delay; one in twenty
// is held up for up to two TTLs, the case fencing exists for (the writer
// checked its lease, then stalled).
func (s *Sim) sendWrite(j, l int, tok uint64) {
	s.tr.add(record{at: s.now, kind: trWriteSent, node: uint16(j), peer: noNode, lease: int16(l), a: tok})
	tenure := s.chk.believes(j, l, tok)
	d := s.net.delay()
	if s.rnd.IntN(20) == 0 {
		d = s.uniform(0, 2*s.opts.TTL)
	}
	s.push(event{at: s.now + d, kind: evWrite, node: int32(j), aux: int32(l), token: tok, tenure: tenure})
}

// resource is the fenced resource: per lease it keeps the highest token it
// has seen and refuses writes with a lower one (equal tokens pass, as
// fence/ admits them: one tenure writes many times).
type resource struct {
	high []uint64
	// lastOrder is the grant order (checker.tenures) of the tenure whose
	// write the resource accepted last, per lease: checker (c).
	lastOrder []uint32
	nAcc      uint64
	nRej      uint64
}

func (r *resource) init(leases int) {
	r.high = make([]uint64, leases)
	r.lastOrder = make([]uint32, leases)
}

func (r *resource) arrive(s *Sim, e *event) {
	r.write(s, int(e.node), int(e.aux), e.token, e.tenure)
}

// write is one write of holder j for lease l with token tok, sent under
// tenure (0: none) reaching the resource.
func (r *resource) write(s *Sim, j, l int, tok uint64, tenure uint32) {
	if tok < r.high[l] {
		r.nRej++
		s.tr.add(record{at: s.now, kind: trWriteRejected, node: uint16(j), peer: noNode, lease: int16(l), a: tok, b: int64(r.high[l])})
		return
	}
	r.high[l] = tok
	r.nAcc++
	s.tr.add(record{at: s.now, kind: trWriteAccepted, node: uint16(j), peer: noNode, lease: int16(l), a: tok})
	r.check(s, j, l, tok, tenure)
}

// check is checker (c), on every accepted write. The token rule alone
// cannot tell two tenures with one token apart (R20: a restarted node that
// reuses a ballot gets the token of an earlier tenure), so the check is
// keyed by tenure identity, not by token:
//
//   - the write was sent under a tenure its writer really held (by its
//     own clock, when it sent it), and carries that tenure's token;
//   - writes are accepted in grant order: once a write of a tenure is
//     accepted, no write of an earlier tenure of the lease is.
//
// With tokens that rise strictly (checker b) the token rule keeps both; a
// break of either means fencing let a stale holder in.
func (r *resource) check(s *Sim, j, l int, tok uint64, tenure uint32) {
	s.chk.checks.Writes++
	if tenure == 0 {
		s.violate(VFencing, l, []int{j}, fmt.Sprintf(
			"resource accepted a write of %s with token %s, sent while it did not hold %s with that token",
			s.holderName(j), tokStr(tok), s.leases[l]))
		return
	}
	t := s.chk.tenure(tenure)
	if int(t.lease) != l || t.token != tok {
		s.violate(VFencing, l, []int{j}, fmt.Sprintf(
			"resource accepted a write of %s with token %s for %s under a tenure granted for %s with token %s",
			s.holderName(j), tokStr(tok), s.leases[l], s.leases[t.lease], tokStr(t.token)))
		return
	}
	if t.order < r.lastOrder[l] {
		s.violate(VFencing, l, []int{j, int(t.node)}, fmt.Sprintf(
			"resource accepted a write of %s's tenure #%d of %s (token %s) after a write of the later tenure #%d: fencing let a stale holder in",
			s.holderName(j), t.order, s.leases[l], tokStr(tok), r.lastOrder[l]))
		return
	}
	r.lastOrder[l] = t.order
}

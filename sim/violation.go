package sim

import "time"

// ViolationKind says which invariant a Violation broke; its string is what
// reports and JSON show.
type ViolationKind string

// Violation kinds.
const (
	// VTwoHolders: two nodes believed they held one lease at the same true
	// instant (checker a).
	VTwoHolders ViolationKind = "two-holders"
	// VTokenOrder: a later tenure of a lease got a token not above the
	// previous one (checker b).
	VTokenOrder ViolationKind = "token-order"
	// VFencing: the fenced resource accepted a write it should not have
	// (checker c).
	VFencing ViolationKind = "fencing"
	// VLiveness: after faults stopped, a lease somebody waited for stayed
	// without a holder longer than the bound (checker d).
	VLiveness ViolationKind = "liveness"
	// VInvariant: a machine broke one of its local invariants
	// (protocol.Machine.CheckInvariants: a promise or the era floor fell, a
	// deadline moved earlier, ...) (checker e).
	VInvariant ViolationKind = "invariant"
	// VInternal: the simulator or the protocol broke an internal contract
	// (a datagram that does not decode, an event that contradicts Holding).
	VInternal ViolationKind = "internal"
)

// Violation is a broken invariant: what, where, when, and the trace lines
// that led to it.
type Violation struct {
	Kind   ViolationKind `json:"kind"`
	Lease  string        `json:"lease,omitempty"`
	Nodes  []string      `json:"nodes,omitempty"`
	At     time.Duration `json:"at_ns"`
	Detail string        `json:"detail"`
	Seed   uint64        `json:"seed"`
	Last   []string      `json:"last_events"`
	Replay string        `json:"replay,omitempty"`
}

// violate records the first violation; the run stops at once.
func (s *Sim) violate(kind ViolationKind, l int, nodes []int, detail string) {
	if s.viol != nil {
		return
	}
	s.tr.add(record{at: s.now, kind: trViolation, node: noNode, peer: noNode, lease: int16(l)})
	v := &Violation{Kind: kind, At: time.Duration(s.now), Detail: detail, Seed: s.opts.Seed, Last: s.tr.last()}
	if l >= 0 {
		v.Lease = s.leases[l]
	}
	for _, j := range nodes {
		v.Nodes = append(v.Nodes, s.holderName(j))
	}
	s.viol = v
	if s.tl != nil {
		s.tl.violation(s.now, l)
	}
}

// fail reports a broken internal contract as a violation.
func (s *Sim) fail(detail string) { s.violate(VInternal, -1, nil, detail) }

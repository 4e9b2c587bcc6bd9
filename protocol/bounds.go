package protocol

import "time"

// Bounds is what a node persists so that the quarantine after an unclean
// start covers its past, not only its present configuration (R19). Both
// fields only ever rise; the driver makes a raised value durable before it
// sends the Output that carries it (Output.PersistBounds), as it does for
// the era.
type Bounds struct {
	// MaxTTL is the largest MaxTTL this node ever ran with. A proposer's
	// attempt lasts less than its TTL, so a forgotten promise matters for
	// at most that long (R9).
	MaxTTL time.Duration
	// MaxExclusion is the largest TTL plus lock delay this node's acceptor
	// ever accepted: how long, on its clock, it may have promised to keep
	// a name blocked.
	MaxExclusion time.Duration
}

// IsZero reports whether b carries nothing.
func (b Bounds) IsZero() bool { return b == Bounds{} }

// raise returns b raised to cover o, and whether anything rose.
func (b Bounds) raise(o Bounds) (Bounds, bool) {
	r := Bounds{MaxTTL: max(b.MaxTTL, o.MaxTTL), MaxExclusion: max(b.MaxExclusion, o.MaxExclusion)}
	return r, r != b
}

// Bounds is the node's current persisted bounds (R19).
func (m *Machine) Bounds() Bounds { return m.bounds }

// noteExclusion raises the persisted exclusion bound to x if it is higher.
// The Accepted that follows leaves in the same Output, after the driver has
// made the bound durable.
func (m *Machine) noteExclusion(x time.Duration) {
	if b, up := m.bounds.raise(Bounds{MaxExclusion: x}); up {
		m.bounds = b
		m.out.PersistBounds = b
	}
}

// crashQuarantine is the quarantine of a start that may have forgotten
// promises and accepted leases: the configured one, raised to cover every
// TTL and lock delay the persisted bounds say this node may have granted
// (R19). An Unsafe configuration (the simulator's misconfiguration runs) is
// taken as given.
func (m *Machine) crashQuarantine() time.Duration {
	q := m.cfg.Quarantine
	if m.cfg.Unsafe || m.cfg.Weaken.has(WeakQuarantineFromConfig) {
		return q
	}
	return max(q, m.cfg.QuarantineFor(m.bounds.MaxTTL), m.cfg.ExclusionQuarantine(m.bounds.MaxExclusion))
}

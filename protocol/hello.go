package protocol

import (
	"math"
	"slices"
)

// A voter that starts from state it did not just write may be running on a
// stale copy of its data dir: a backup restored, a directory copied, a VM
// cloned, or an empty dir given to a voter that already ran. Locally such a
// copy looks exactly like the real thing. Its peers can tell: each voter
// remembers the newest incarnation (boot counter and nonce) it has heard
// from every other voter, and a start that announces an incarnation not
// newer than one already seen is stale (R18).
//
// So a voter that would skip the quarantine (a clean or fresh start) first
// sends Hello{Boot, Nonce} to every other voter and answers no Prepare,
// Propose or Release until each of them has answered that it knew no newer
// incarnation. A single "stale" answer turns the start into a crashed one
// (era bump, the quarantine sat out from the start); so does silence that
// lasts the whole quarantine. Detection needs one voter that heard the
// stale copy's successor and has not itself forgotten it since (a crash
// forgets; a clean stop keeps it in the State): DESIGN.md §5 lists what is
// and is not detected.

// Hello announces an incarnation of the sender to a voter. It is about no
// lease name.
type Hello struct {
	// Boot is the sender's durable start counter: it rises at every start
	// of a data dir.
	Boot uint64
	// Nonce is random per start, so that two starts with one Boot (two
	// copies of one dir) differ.
	Nonce uint64
}

// HelloReply answers a Hello. Stale says the voter had already heard an
// incarnation of the sender with a higher Boot, or the same Boot and
// another Nonce. Seen is the highest Boot it had heard. Era is the
// replier's era floor: a start that may have forgotten promises raises its
// own floor past it (R12), since its own copy of the floor may be stale.
type HelloReply struct {
	Boot, Nonce uint64
	Stale       bool
	Seen        uint64
	Era         uint32
}

// Type implements Message.
func (*Hello) Type() MsgType { return TypeHello }

// Type implements Message.
func (*HelloReply) Type() MsgType { return TypeHelloReply }

// Lease implements Message: a Hello is about no lease.
func (*Hello) Lease() string { return "" }

// Lease implements Message: a HelloReply is about no lease.
func (*HelloReply) Lease() string { return "" }

// Incarnation is one start of a node, as its peers remember it.
type Incarnation struct {
	Boot, Nonce uint64
}

// PeerIncarnation is a remembered incarnation of a named peer, in a State.
type PeerIncarnation struct {
	Name string
	Incarnation
}

// verifier is a fresh or clean start of a voter waiting for its peers to
// confirm that it is the newest incarnation.
type verifier struct {
	pending []string // voters that have not answered yet
	fresh   bool     // a StartFresh: a peer past era 1 proves it stale
	// keep is the end of a quarantine the start owed anyway (a clean stop
	// inside a crashed start's quarantine, R9); zero if none.
	keep Time
	tk   ticket
}

func (v *verifier) ticket() *ticket { return &v.tk }

// fire resends Hello to the voters still silent, or gives up when the
// quarantine is over.
func (v *verifier) fire(m *Machine, now Time) {
	if m.verify != v {
		return
	}
	if now >= m.quarantineUntil {
		if !m.amnesic {
			m.staleStart(now) // unverified: it may be a stale copy
		}
		m.verify = nil // the quarantine is over: it opens with what it learned
		return
	}
	for _, p := range v.pending {
		m.send(p, &Hello{Boot: m.boot, Nonce: m.nonce})
	}
	m.schedule(v, min(now.Add(m.cfg.RetryInterval*4), m.quarantineUntil))
}

// startVerify begins the check of a start: one that would skip the
// quarantine (fresh, clean) is held closed until every other voter
// confirmed it, for at most a crashed start's quarantine; a crashed start
// (already quarantined) asks too, to learn its peers' eras and to let them
// record its new incarnation.
func (m *Machine) startVerify(now Time, fresh bool) {
	if m.selfIdx < 0 || m.boot == 0 {
		return
	}
	var pending []string
	for i := range m.voters.Len() {
		if i != m.selfIdx {
			pending = append(pending, m.voters.Name(i))
		}
	}
	m.startVerifyWith(now, fresh, pending)
}

// startVerifyWith is startVerify asking the voters in pending.
func (m *Machine) startVerifyWith(now Time, fresh bool, pending []string) {
	if len(pending) == 0 || m.cfg.Weaken.has(WeakTrustCleanState) {
		m.announce(pending)
		return
	}
	m.freshClaim = false // checked now, by this verifier
	v := &verifier{pending: pending, fresh: fresh}
	if m.quarantine {
		v.keep = m.quarantineUntil
	}
	m.quarantine = true
	m.quarantineUntil = max(m.quarantineUntil, now.Add(m.crashQuarantine()))
	m.verify = v
	v.fire(m, now)
}

// announce tells the other voters of this incarnation without waiting for
// them: a start that trusts its state (weakened) or has no peers.
func (m *Machine) announce(to []string) {
	if m.selfIdx < 0 || m.boot == 0 {
		return
	}
	for _, p := range to {
		m.send(p, &Hello{Boot: m.boot, Nonce: m.nonce})
	}
}

// staleStart turns an unverified start into a crashed one: the era floor
// rises past everything this copy knew (R12), and the acceptor stays closed
// until the quarantine, counted from the start, is over (R9). The acceptor
// answered nothing while unverified, so that quarantine covers everything
// it may have forgotten.
//
// The verifier keeps asking the voters that have not answered until the
// quarantine ends, as a crashed start does: each answer may carry a higher
// era, and the first answers may have been lost (found by the simulator:
// a stale start that stopped asking opened below the cluster's era).
func (m *Machine) staleStart(now Time) {
	if m.staleFound {
		return
	}
	if m.era == math.MaxUint32 {
		m.tokensExhausted = true
	} else {
		m.observeEra(m.era + 1)
	}
	m.rejectBelow = m.era
	m.staleFound = true
	m.amnesic = true
	if m.peerEra >= m.rejectBelow {
		m.raiseFloor(m.peerEra)
	}
}

// raiseFloor makes the era floor refuse every ballot of era <= e: a start
// that may have forgotten promises learned that ballots of era e exist.
func (m *Machine) raiseFloor(e uint32) {
	if e == math.MaxUint32 {
		m.tokensExhausted = true
		return
	}
	m.observeEra(e + 1)
	m.rejectBelow = max(m.rejectBelow, e+1)
}

// StaleStart reports whether this start was found stale (or could not be
// verified within the quarantine) and became a crashed start.
func (m *Machine) StaleStart() bool { return m.staleFound }

// Verifying reports whether the acceptor still waits for its peers to
// confirm that this start is the newest incarnation.
func (m *Machine) Verifying() bool { return m.verify != nil }

// onHello records the sender's incarnation and answers whether it is stale.
func (m *Machine) onHello(from string, h *Hello) {
	if m.selfIdx < 0 {
		return
	}
	if _, ok := m.voters.Index(from); !ok || from == m.cfg.Self {
		return
	}
	seen := m.peers[from]
	stale := h.Boot < seen.Boot || (h.Boot == seen.Boot && h.Nonce != seen.Nonce && seen.Boot != 0)
	if stale {
		m.counters.StaleRefused++
	} else if seen != (Incarnation{Boot: h.Boot, Nonce: h.Nonce}) {
		// The memory of peers is durable (a crash must not forget it): the
		// driver persists it before the reply leaves.
		m.peers[from] = Incarnation{Boot: h.Boot, Nonce: h.Nonce}
		m.out.PersistPeers = m.peerList()
	}
	m.send(from, &HelloReply{Boot: h.Boot, Nonce: h.Nonce, Stale: stale, Seen: seen.Boot, Era: m.era})
}

// onHelloReply counts a voter's answer to this incarnation's Hello.
func (m *Machine) onHelloReply(now Time, from string, r *HelloReply) {
	if r.Boot != m.boot || r.Nonce != m.nonce || m.boot == 0 {
		return
	}
	if _, ok := m.voters.Index(from); !ok {
		return
	}
	// R12: the replier's era floor is at least the era of every ballot it
	// promised or accepted. A start that may have forgotten promises (a
	// crash, a stale copy) and is still closed refuses every ballot up to
	// it: its own floor came from a disk that may be older than the
	// cluster. Raising the floor while closed costs nothing.
	if m.amnesic && m.Quarantined(now) && r.Era >= m.rejectBelow {
		m.raiseFloor(r.Era)
	}
	m.observeEra(r.Era)
	m.peerEra = max(m.peerEra, r.Era)
	v := m.verify
	if v == nil {
		return
	}
	i := slices.Index(v.pending, from)
	if i < 0 {
		return
	}
	v.pending = slices.Delete(v.pending, i, i+1)
	// A fresh start ("a new cluster") that meets a voter past era 1 is not
	// in a new cluster: a data dir was wiped and the operator said "new"
	// (R18). It is stale like a restored copy.
	if !m.amnesic && (r.Stale || (v.fresh && r.Era > 1)) {
		m.staleStart(now)
	}
	if len(v.pending) > 0 {
		return
	}
	m.verify = nil // every voter answered
	m.schedule(v, Never)
	switch {
	case m.amnesic:
		// A crashed or stale start sits out its quarantine; it has learned
		// every voter's era.
	case v.keep > now:
		m.quarantineUntil = v.keep
	default:
		m.quarantine = false
	}
}

// peerList is the remembered incarnations, sorted, for a State.
func (m *Machine) peerList() []PeerIncarnation {
	out := make([]PeerIncarnation, 0, len(m.peers))
	for n, inc := range m.peers {
		out = append(out, PeerIncarnation{Name: n, Incarnation: inc})
	}
	slices.SortFunc(out, func(a, b PeerIncarnation) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

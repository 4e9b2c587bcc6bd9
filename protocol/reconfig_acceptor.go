package protocol

import (
	"math"
	"slices"
	"time"

	"github.com/tenure-dev/tenure/quorum"
)

// The configuration side every node runs: which configuration it has
// adopted (R21), the Paxos slot that chooses the next one, for voters
// (R22), and what it does with datagrams of other epochs.

// reconfigState is what a Machine keeps about voter configurations.
type reconfigState struct {
	mem  Membership  // adopted
	rule quorum.Rule // mem's quorum rule
	// The acceptor of the slot of epoch mem.Epoch+1; durable
	// (ConfigRecord) before any answer that depends on it leaves.
	promised        Ballot
	promisedAttempt uint64
	accepted        Ballot
	value           *Membership
	told            map[string]Time // the last Install or ConfigAsk sent to each peer
	run             *reconfigurer   // the change this node drives, if any
	fin             finisher
}

// Membership is the configuration this node has adopted.
func (m *Machine) Membership() Membership { return m.rc.mem.Clone() }

// setMembership makes k the configuration the quorums, the broadcasts and
// the identity follow.
func (m *Machine) setMembership(k Membership) {
	r, _ := k.rule() // validated by every caller
	m.rc.mem, m.rc.rule = k, r
	m.voters = r.All()
	m.selfIdx = -1
	if i, ok := m.voters.Index(m.cfg.Self); ok {
		m.selfIdx = i
	}
	m.id = Identity{Cluster: m.cfg.Cluster, Voters: k.Fingerprint(), Epoch: k.Epoch}
	if k.Epoch > 0 {
		m.id.Genesis = Fingerprint(m.cfg.Voters)
	}
}

// startMembership sets the configuration a start begins with: the record
// the driver kept (R21), or epoch 0, the configured voters.
func (m *Machine) startMembership(st Start, now Time) error {
	s, _ := NewVoters(m.cfg.Voters) // checked by Validate
	m.setMembership(Membership{Voters: s})
	r := st.Config
	if r == nil || m.cfg.Weaken.has(WeakEpochInMemory) {
		return nil
	}
	if err := r.Config.Validate(); err != nil {
		return err
	}
	if r.Value != nil {
		if err := r.Value.Validate(); err != nil {
			return err
		}
		v := r.Value.Clone()
		m.rc.value = &v
	}
	m.setMembership(r.Config.Clone())
	m.rc.promised, m.rc.promisedAttempt, m.rc.accepted = r.Promised, r.PromisedAttempt, r.Accepted
	m.observeEra(m.rc.mem.MinEra)
	m.scheduleFinisher(now)
	return nil
}

// record is the durable configuration state.
func (m *Machine) record() *ConfigRecord {
	r := &ConfigRecord{Version: ConfigRecordVersion, Config: m.rc.mem.Clone(),
		Promised: m.rc.promised, PromisedAttempt: m.rc.promisedAttempt, Accepted: m.rc.accepted}
	if m.rc.value != nil {
		v := m.rc.value.Clone()
		r.Value = &v
	}
	return r
}

// persistConfig asks the driver to make the configuration state durable
// before any message of this Output leaves (R21, R22).
func (m *Machine) persistConfig() { m.out.PersistConfig = m.record() }

// Deliver handles one datagram: its header h and its messages, from the
// sender h.From. It is Admit followed by Step for each message, and what
// reconfiguration adds: a datagram of the same cluster but another epoch
// is taken, but only its configuration messages are handled, never its
// lease messages (R21: a voter answers, and a proposer counts, lease
// messages of its own epoch only); the sender, if behind, is sent this
// node's configuration (Install), and if ahead, asked for its own
// (ConfigAsk). It reports whether the datagram was taken; a refused one
// is counted as Admit counts it.
func (m *Machine) Deliver(now Time, h Header, msgs []Message) bool {
	if m.stopped {
		return false
	}
	weak := m.cfg.Weaken.has(WeakNoIdentity)
	if m.cfg.Weaken.has(WeakIgnoreEpoch) && h.ID.Cluster == m.id.Cluster && h.ID.chain() == m.id.chain() {
		// The weakening: the epoch is no part of the identity; every
		// message is handled, and no peer is told it is behind.
		for _, msg := range msgs {
			m.Step(now, h.From, msg)
		}
		return true
	}
	if h.ID.Epoch == m.id.Epoch || weak {
		if !m.Admit(h) {
			return false
		}
		for _, msg := range msgs {
			m.Step(now, h.From, msg)
		}
		return true
	}
	if h.ID.Cluster != m.id.Cluster || h.ID.chain() != m.id.chain() {
		// Another cluster, or another chain of configurations under the
		// same cluster ID (clusters started apart with other voter lists):
		// refused at every epoch, as at epoch 0 (R17).
		m.counters.Mismatched++
		return false
	}
	for _, msg := range msgs {
		if configMsg(msg) {
			m.Step(now, h.From, msg)
		}
	}
	switch {
	case h.ID.Epoch < m.rc.mem.Epoch:
		m.tellConfig(now, h.From, &Install{Config: m.rc.mem.Clone()})
	case h.ID.Epoch > m.rc.mem.Epoch:
		m.tellConfig(now, h.From, &ConfigAsk{Epoch: m.rc.mem.Epoch})
	}
	m.drainLocal(now)
	return true
}

// tellConfig sends msg to peer, at most once per RetryInterval per peer.
func (m *Machine) tellConfig(now Time, peer string, msg Message) {
	if peer == m.cfg.Self {
		return
	}
	if m.rc.told == nil {
		m.rc.told = map[string]Time{}
	}
	if t, ok := m.rc.told[peer]; ok && now < t.Add(m.cfg.RetryInterval) {
		return
	}
	m.rc.told[peer] = now
	m.send(peer, msg)
}

// adopt makes committed configuration k (epoch above the adopted one) the
// node's (R21): durable before anything is answered under it, tokens
// carried over by its MinEra (R24), and every attempt under way started
// again under it; a tenure is not ended by the change (R25).
func (m *Machine) adopt(now Time, k Membership) {
	if k.Epoch <= m.rc.mem.Epoch {
		return
	}
	wasVoter := m.selfIdx >= 0
	m.releaseInFlight(now)
	m.setMembership(k.Clone())
	m.rc.promised, m.rc.promisedAttempt, m.rc.accepted, m.rc.value = Ballot{}, 0, Ballot{}, nil
	m.persistConfig()
	m.observeEra(k.MinEra)
	m.reverify(now)
	if !wasVoter || m.freshClaim {
		// A voter's fresh start with no other voter to ask (the founder
		// of a one-voter cluster) is checked once the configuration
		// gives it peers.
		m.verifyNewVoter(now)
	}
	m.counters.Adopted++
	c := k.Clone()
	m.emit(Event{Kind: EventConfig, Config: &c})
	m.restartAttempts(now)
	m.scheduleFinisher(now)
	if r := m.rc.run; r != nil {
		r.stage = 0 // its answers were counted under the old configuration
		m.rcAdvance(now)
	}
}

// reverify points the check of this start (R18) at the voters of a
// configuration it adopts while still closed: verifying, or a crashed or
// stale start in its quarantine. The era floor such a start must learn
// before it opens (R12) is kept by the voters whose quorums granted the
// newest tenures, which are the adopted configuration's, not those of the
// configuration it started with (epoch 0 after a wiped data dir, an older
// epoch after a restored one): their answers raise its floor (onHelloReply)
// and, until every one of them answered or the quarantine ended, a start
// that would skip the quarantine stays closed. A node that is no voter of
// k, or the only one, keeps the check it had.
func (m *Machine) reverify(now Time) {
	if m.selfIdx < 0 || m.boot == 0 || m.cfg.Weaken.has(WeakTrustCleanState) {
		return
	}
	v := m.verify
	if v == nil {
		if !m.amnesic || !m.Quarantined(now) {
			return // open: it learned what it needed before
		}
		v = &verifier{} // a crashed start sits out its quarantine anyway
	}
	var pending []string
	for i := range m.voters.Len() {
		if i != m.selfIdx {
			pending = append(pending, m.voters.Name(i))
		}
	}
	if len(pending) == 0 {
		return
	}
	v.pending = pending
	m.verify = v
	v.fire(m, now)
}

// releaseInFlight queues the Release of every acquire attempt in phase two
// before a configuration is adopted: the attempt is given up (it never
// won, so this node never acted under its ballot, R10), and its votes
// name the voters of the configuration it was counted in, which the
// adopted one renumbers. As for any failed attempt (releaseFailed), only
// voters that may have recorded it are asked: a one-round attempt's
// ballot can be a previous incarnation's (a node without a data dir,
// restarted), and a Release of it at a voter that never saw this attempt
// would clear that incarnation's live tenure (found by an operator
// review: a non-voter restarted during a voter change).
func (m *Machine) releaseInFlight(now Time) {
	for _, n := range m.sortedClaimNames() {
		l := m.claims[n]
		if l.stage == stageWaiting || l.stage == stageHeld || l.held() || l.stage == stagePreparing || l.att.ballot.IsZero() {
			continue
		}
		m.releaseFailed(now, l)
	}
}

// sortedClaimNames is the names of the claims, sorted (a deterministic
// order for the Output).
func (m *Machine) sortedClaimNames() []string {
	names := make([]string, 0, len(m.claims))
	for n := range m.claims {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// verifyNewVoter checks the start of a node that an adopted configuration
// makes a voter while it ran as none, as a voter's start is checked
// (R18): its start was never checked, since a non-voter has no acceptor,
// yet its data dir may be an empty or restored copy of a voter's (an
// added voter whose disk was replaced, started again with --new-cluster
// and the initial list, under which it votes for nothing: it came back
// with no memory and voted at once, and a client was granted a name, at
// the same token, inside another's deadline; found by an operator
// review). It answers nothing as an acceptor until every other voter of
// the set it joins confirmed that it heard no newer incarnation of it;
// a "stale" answer, or silence for a quarantine, makes it a crashed start
// (staleStart). A first addition costs one round trip: no voter heard of
// it yet. A start that claimed a new cluster and was never checked as a
// voter's (freshClaim) is checked as a fresh start: a voter past era 1
// refutes it, memory or not, since a node whose first start was a crash
// never told the voters of its incarnation, and its wiped disk started
// with --new-cluster was confirmed by voters that had never heard of it
// (simulator, seed 200344 of the --wipe-fresh --wipe-added sweeps); a
// voter whose fresh start had no other voter to ask (the founder of a
// one-voter cluster) is checked so when a configuration gives it peers.
// A crashed start still in its quarantine was pointed at the new voters
// by reverify; one past it has nothing to check, and only announces its
// incarnation; a node without a data dir has no incarnation to tell
// apart.
func (m *Machine) verifyNewVoter(now Time) {
	if m.selfIdx < 0 || m.boot == 0 || m.verify != nil || m.cfg.Weaken.has(WeakNewVoterUnchecked) {
		return
	}
	if m.nonce == 0 {
		// Drawn now, not at New, for a node that starts as no voter: the
		// random draws of every other start stay as they were.
		m.nonce = uint64(m.rnd.Int64N(math.MaxInt64-1)) + 1
	}
	if m.amnesic {
		// A crashed start (the way to start a node that will be added)
		// has nothing to check, but tells the voters of its incarnation,
		// so that a later copy of this dir, wiped and started again, is
		// found stale by their memory at any era. Best effort: a voter
		// that has not yet adopted the configuration ignores it.
		m.announce(m.targetOthers())
		return
	}
	// It asks the other voters of the set it joins (the new set, while
	// joint): they are the voters it votes with from now on, and those
	// that would have heard an earlier start of it as a voter of this
	// set. The old set's voters, about to be left, are not waited for: one
	// of them that cannot reach the new voters would otherwise keep every
	// added voter closed for a quarantine, and with them the change.
	m.startVerifyWith(now, m.freshClaim, m.targetOthers())
}

// targetOthers is the voters of the set this node votes in from now on
// (the new set, while joint), itself left out.
func (m *Machine) targetOthers() []string {
	var out []string
	for _, v := range m.rc.mem.Target() {
		if v != m.cfg.Self {
			out = append(out, v)
		}
	}
	return out
}

// restartAttempts starts every attempt under way again under the adopted
// configuration: its votes were counted by the old one's quorums. An
// acquire goes back to waiting and retries at once (releaseInFlight asked
// the voters that may have recorded its Propose to clear it); a renewal
// sends a fresh one-phase renewal at the tenure's own ballot, with its own
// deadline (R11), so the tenure goes on with its token.
func (m *Machine) restartAttempts(now Time) {
	for _, n := range m.sortedClaimNames() {
		l := m.claims[n]
		switch {
		case l.stage == stageWaiting || l.stage == stageHeld:
			continue
		case l.held():
			m.startRenewal(now, l)
		default:
			l.stage = stageWaiting
			l.retryAt = now
		}
		m.schedule(l, l.nextTimer(m))
	}
	for _, q := range m.queries {
		q.votes.Reset()
	}
}

// decide is the outcome of votes v under the adopted configuration's
// rule: one majority, or while joint both (R22).
func (m *Machine) decide(v quorum.Votes) quorum.Result {
	r := m.rc.rule
	if r.Joint() {
		switch {
		case m.cfg.Weaken.has(WeakJointNewOnly):
			return r.ResultNew(v)
		case m.cfg.Weaken.has(WeakJointOldOnly):
			return r.ResultOld(v)
		}
	}
	return r.Result(v)
}

// belowMinEra reports whether an acquire's ballot b is below the adopted
// configuration's MinEra: refused, so that a configuration that shares no
// voter with an older one still gives higher tokens (R24). Renewals
// (Propose at a tenure's ballot) are not refused.
func (m *Machine) belowMinEra(b Ballot) bool {
	return b.Era < m.rc.mem.MinEra
}

// onCfgPrepare is phase one at a voter of the slot's configuration.
func (m *Machine) onCfgPrepare(now Time, from string, p *CfgPrepare) {
	if !m.cfgSlotFor(from, p.Slot) || m.cfgClosed() {
		return
	}
	b := p.Ballot
	b.Node = from
	m.observeEra(b.Era)
	c := b.Cmp(m.rc.promised)
	dup := c == 0 && b.Node == m.rc.promised.Node && p.Attempt == m.rc.promisedAttempt
	if c < 0 || (c == 0 && !dup) {
		m.send(from, &CfgReject{Slot: p.Slot, Attempt: p.Attempt, Promised: m.rc.promised})
		return
	}
	if !dup {
		m.rc.promised, m.rc.promisedAttempt = b, p.Attempt
		m.persistConfig()
	}
	r := &CfgPromise{Slot: p.Slot, Attempt: p.Attempt, Accepted: m.rc.accepted, Era: m.era, Bounds: m.bounds}
	if m.rc.value != nil {
		v := m.rc.value.Clone()
		r.Value = &v
	}
	m.send(from, r)
}

// onCfgPropose is phase two at a voter of the slot's configuration.
func (m *Machine) onCfgPropose(now Time, from string, p *CfgPropose) {
	if !m.cfgSlotFor(from, p.Slot) || !m.rc.mem.leadsTo(p.Value, p.Slot) || m.cfgClosed() {
		return
	}
	b := p.Ballot
	b.Node = from
	m.observeEra(b.Era)
	c := b.Cmp(m.rc.promised)
	if c < 0 || (c == 0 && (b.Node != m.rc.promised.Node || p.Attempt != m.rc.promisedAttempt)) {
		m.send(from, &CfgReject{Slot: p.Slot, Attempt: p.Attempt, Promised: m.rc.promised})
		return
	}
	v := p.Value.Clone()
	m.rc.promised, m.rc.promisedAttempt, m.rc.accepted, m.rc.value = b, p.Attempt, b, &v
	m.persistConfig()
	m.send(from, &CfgAccepted{Slot: p.Slot, Attempt: p.Attempt})
	if m.cfg.Weaken.has(WeakAdoptUncommitted) {
		m.adopt(now, v) // the weakening: what one voter accepted need not be chosen
		return
	}
	m.scheduleFinisher(now)
}

// cfgClosed reports whether this start takes no part in the
// configuration slot yet: while the check of its start (R18) is under
// way, until every voter of the configuration it runs has answered or its
// quarantine ended. A start from a restored or wiped data dir may run an
// old configuration, whose next slot it may have voted in and forgotten;
// the voters it asks answer its Hello of an older epoch with the newer
// configuration (Install), and after it adopts that, the check asks the
// new voters (reverify). So it votes on what follows a configuration only
// once it has heard the voters of the one it runs. A crashed start whose
// peers all answer at once loses nothing; the proposer retries meanwhile.
func (m *Machine) cfgClosed() bool {
	return m.verify != nil && !m.cfg.Weaken.has(WeakCfgVoteUnverified)
}

// cfgSlotFor checks that a slot message is for the slot this node keeps
// as a voter: a sender behind is told the adopted configuration, a sender
// ahead is asked for its own.
func (m *Machine) cfgSlotFor(from string, slot uint64) bool {
	switch cur := m.rc.mem.Epoch; {
	case slot == 0:
		return false
	case slot <= cur:
		m.send(from, &Install{Config: m.rc.mem.Clone()})
		return false
	case slot > cur+1:
		m.send(from, &ConfigAsk{Epoch: cur})
		return false
	}
	return m.selfIdx >= 0
}

// leadsTo reports whether v is a configuration the slot of epoch slot may
// choose after k: from a simple one, a joint one that leaves it; from a
// joint one, the simple one it leads to.
func (k Membership) leadsTo(v Membership, slot uint64) bool {
	if v.Epoch != slot || v.Validate() != nil {
		return false
	}
	if v.MinEra < k.MinEra {
		return false // the era floor of a configuration is carried on (R24)
	}
	if k.Joint() {
		return !v.Joint() && slices.Equal(v.Voters, k.Next)
	}
	return v.Joint() && slices.Equal(v.Voters, k.Voters)
}

// onInstall adopts a committed configuration newer than the adopted one,
// and acknowledges every configuration not newer than it.
func (m *Machine) onInstall(now Time, from string, in *Install) {
	k := in.Config
	if k.Validate() != nil {
		return
	}
	if k.Epoch > m.rc.mem.Epoch {
		m.adopt(now, k)
	}
	m.send(from, &InstallAck{Epoch: m.rc.mem.Epoch, Era: m.era, Bounds: m.bounds, Remaining: m.longestExclusion(now)})
}

// onConfigAsk answers a peer behind with the adopted configuration.
func (m *Machine) onConfigAsk(from string, a *ConfigAsk) {
	if a.Epoch < m.rc.mem.Epoch {
		m.send(from, &Install{Config: m.rc.mem.Clone()})
	}
}

// finisher is the timer of a voter that finds a change unfinished: a
// joint configuration, or a value accepted in the slot but not adopted.
// If no change ends it meanwhile, the voter finishes it itself (R22): an
// interrupted change leaves a working configuration, and anyone can
// complete it.
type finisher struct{ tk ticket }

func (f *finisher) ticket() *ticket { return &f.tk }

func (f *finisher) fire(m *Machine, now Time) {
	if m.rc.run != nil || !m.unfinished() {
		return
	}
	m.rc.run = &reconfigurer{finisher: true, base: m.rc.mem.Epoch}
	m.rcAdvance(now)
}

// unfinished reports whether this voter sees a change under way.
func (m *Machine) unfinished() bool {
	return m.selfIdx >= 0 && (m.rc.mem.Joint() || m.rc.value != nil)
}

// scheduleFinisher arms the finisher when a change is under way and no
// reconfigurer of this node drives it.
func (m *Machine) scheduleFinisher(now Time) {
	if m.rc.run != nil || !m.unfinished() {
		m.schedule(&m.rc.fin, Never)
		return
	}
	m.schedule(&m.rc.fin, now.Add(3*m.cfg.MaxTTL+m.jitter(2*m.cfg.MaxTTL)))
}

// stepConfig dispatches a reconfiguration message.
func (m *Machine) stepConfig(now Time, from string, msg Message) {
	switch msg := msg.(type) {
	case *CfgPrepare:
		m.onCfgPrepare(now, from, msg)
	case *CfgPromise:
		m.onCfgPromise(now, from, msg)
	case *CfgReject:
		m.onCfgReject(now, from, msg)
	case *CfgPropose:
		m.onCfgPropose(now, from, msg)
	case *CfgAccepted:
		m.onCfgAccepted(now, from, msg)
	case *Install:
		m.onInstall(now, from, msg)
	case *InstallAck:
		m.onInstallAck(now, from, msg)
	case *ConfigAsk:
		m.onConfigAsk(from, msg)
	}
}

// refuseBelowMinEra refuses an acquire (a Prepare, or a one-round
// Propose) whose ballot is below the configuration's MinEra (R24), with
// the era to jump to.
func (m *Machine) refuseBelowMinEra(from, name string, b Ballot, attempt uint64) bool {
	if !m.belowMinEra(b) {
		return false
	}
	m.send(from, &Reject{Name: name, Attempt: attempt, Promised: Ballot{Era: m.rc.mem.MinEra}, Reason: ReasonEra})
	return true
}

// AskConfig asks peer for its configuration (ConfigAsk), for a driver
// that learned from elsewhere (gossip metadata) that peer runs a newer
// epoch: a node that sends no lease message would otherwise learn a change
// only at its next request. At most once per RetryInterval per peer.
func (m *Machine) AskConfig(now Time, peer string) {
	if m.stopped {
		return
	}
	m.tellConfig(now, peer, &ConfigAsk{Epoch: m.rc.mem.Epoch})
}

// longestExclusion is how long, from now on this node's clock, the
// longest exclusion its acceptor keeps may still last: the live leases
// (lock delays included) and, while quarantined, the rest of the
// quarantine, which covers what a crashed start may have forgotten (R9,
// R19). Every tenure an old configuration can still hold was accepted by a
// voter of any majority of it before that voter adopted the next one, and
// its authority ends before that exclusion does (R8): the wait W is sized
// from what a closing majority reports (R23).
func (m *Machine) longestExclusion(now Time) time.Duration {
	var x time.Duration
	if m.Quarantined(now) && !m.cfg.Weaken.has(WeakAckForgetsQuarantine) {
		x = m.quarantineUntil.Sub(now)
	}
	for _, s := range m.slots {
		if s.live(now) {
			x = max(x, s.blockedUntil().Sub(now))
		}
	}
	return x
}

package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// Operator switches on the operator's mistakes (the reproductions of
// issue 12), each guarded by one of the rules R17-R20. The zero value
// makes none. Two live processes with one name (R18's other half) are not
// modelled: the node layer refuses them through memberlist, which the
// simulator does not run.
type Operator struct {
	// OldVoters > 0 freezes a rolling change of the voter list half way
	// (R17): the old list is n1..nK (K = OldVoters), the new one n1..nV.
	// The old voters n(Switched+1)..nK and the odd client nodes (c1, c3,
	// ...) run the old list; every other node runs the new one. A node
	// refuses to start while a live member it reaches runs the other list
	// (identity.go); nodes start in name order, so the first node's list
	// runs and the other waits for a partition or for every node of the
	// first list to be down. A node whose list has no majority of voters
	// running it cannot be granted anything (checker d does not wait for
	// it). If both lists have such a majority, neither the identity check
	// nor the start check closes every schedule: a side that starts while
	// the other is all down or cut off grants on its own (R17 says to
	// change the list only with a full stop).
	OldVoters, Switched int
	// LowMaxTTL > 0 lowers MaxTTL across crashes (R19): a third into the
	// run the operator lowers --max-ttl to LowMaxTTL in a rolling restart
	// that kills each node in turn (a crash, every TTL/4); every start from
	// then on runs with the lower value. Clients ask for their node's
	// MaxTTL, so tenures granted before the roll are long.
	LowMaxTTL time.Duration
	// NoDiskClients runs the client nodes without a data dir (R20): every
	// start is a crashed start from the wall clock in seconds (the node's
	// local clock), nothing survives a stop, and a supervisor restarts a
	// stopped one within 300 ms, often inside the second its previous
	// incarnation started in: the same era again.
	NoDiskClients bool
	// Restores are operator actions on voters' data dirs per simulated
	// minute (R18): half take a backup (a hot copy of a running voter's dir,
	// or a copy at a clean stop), half restore the backups of one voter up
	// to a bare majority at once, each restarted from its stale copy.
	// Restores, like wipes, stay within the limit of assume.go: a voter
	// that knows the newer state stays up and connected to every stale
	// voter until it has opened, and stale voters are a majority only when
	// restored at once. Beyond it no guard can help (the disks of a
	// majority of acceptors lost).
	Restores float64
	// Wipes are voters restarted with an empty data dir per simulated minute
	// (R18): a crashed start from era 0 (what a node must do with an empty
	// dir on a cluster that already ran), or with WipeFresh a fresh start,
	// as an operator who wrongly says "new cluster" makes it.
	Wipes     float64
	WipeFresh bool
	// WipeAdded lets restores and wipes touch voters that a change added
	// (voters of the newest configuration outside the configured list),
	// not only the configured voters; the limit of assume.go then covers
	// them too. Off by default: see operatorVoters.
	WipeAdded bool
	// Zombies makes two incarnations of one name meet (R20): when a node
	// stops, every datagram in flight from or to it is delivered once more
	// after its restart, to or from its next incarnation.
	Zombies bool
}

// OperatorStats count what the operator did in a run, and what the limit
// of the restore model (assume.go) held back.
type OperatorStats struct {
	// Restores and Wipes count voters restarted from a stale copy of their
	// data dir and from an empty one.
	Restores int `json:"restores"`
	Wipes    int `json:"wipes"`
	// HeldBack counts faults and operator actions the limit of the restore
	// model refused (each candidate victim once).
	HeldBack int `json:"held_back"`
	// OpenedUnlearned counts restored or wiped voters that opened with an
	// era not above that of every token granted before their restart: the
	// model failed to keep a voter that knows the newer state in reach.
	OpenedUnlearned int `json:"opened_unlearned"`
	// StartRefusals counts starts refused because a live member reached
	// runs another voter list (identity.go).
	StartRefusals int `json:"start_refusals"`
}

func (a *OperatorStats) add(b OperatorStats) {
	a.Restores += b.Restores
	a.Wipes += b.Wipes
	a.HeldBack += b.HeldBack
	a.OpenedUnlearned += b.OpenedUnlearned
	a.StartRefusals += b.StartRefusals
}

// validate checks the operator options against the rest.
func (op *Operator) validate(o *Options) error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrOptions}, a...)...) }
	switch {
	case op.OldVoters < 0 || op.OldVoters >= o.Voters && op.OldVoters != 0:
		return bad("old-voters %d: want 0 (off) or 1..%d (fewer than the %d voters)", op.OldVoters, o.Voters-1, o.Voters)
	case op.Switched < 0 || op.Switched > op.OldVoters:
		return bad("switched %d: want 0..old-voters (%d)", op.Switched, op.OldVoters)
	case op.LowMaxTTL < 0 || op.LowMaxTTL >= o.TTL && op.LowMaxTTL != 0:
		return bad("low-max-ttl %v: want 0 (off) or below the ttl %v", op.LowMaxTTL, o.TTL)
	case !(op.Restores >= 0) || !(op.Wipes >= 0):
		return bad("restores and wipes must not be negative")
	}
	if op.LowMaxTTL > 0 {
		if _, err := o.protocolConfigTTL("n1", []string{"n1"}, op.LowMaxTTL); err != nil {
			return fmt.Errorf("low-max-ttl %v: %w", op.LowMaxTTL, err)
		}
	}
	return nil
}

// voterList is the voter list node i runs (see Operator.OldVoters).
func (o *Options) voterList(i int, all []string) []string {
	op := &o.Operator
	if op.OldVoters == 0 {
		return all
	}
	old := all[:op.OldVoters]
	if i < o.Voters {
		if i < op.OldVoters && i >= op.Switched {
			return old
		}
		return all
	}
	if (i-o.Voters)%2 == 0 {
		return old
	}
	return all
}

// setupOperator finishes the per-node configuration once every node
// exists: who can be granted anything, who runs without a data dir, and
// the lowered configuration.
func (s *Sim) setupOperator() error {
	o := &s.opts
	s.setupIdentities()
	for _, n := range s.nodes {
		n.noDisk = o.Operator.NoDiskClients && !n.voter
		if o.Operator.LowMaxTTL > 0 {
			cfg, err := o.protocolConfigTTL(n.name, n.cfg.Voters, o.Operator.LowMaxTTL)
			if err != nil {
				return err
			}
			n.cfgLow = &cfg
		}
	}
	if o.Workload && o.Operator.LowMaxTTL > 0 {
		s.push(event{at: int64(o.Duration / 3), kind: evOp, aux: opLower})
	}
	return nil
}

// firstStart is how node n starts at the beginning of the run.
func (s *Sim) firstStart(n *node) protocol.Start {
	if n.noDisk {
		return protocol.Start{Kind: protocol.StartCrashed, Era: s.wallEra(n)}
	}
	return protocol.Start{Kind: protocol.StartFresh}
}

// wallEra is the era a node without a data dir starts from: its wall clock
// in seconds (its local clock, whose offset plays the epoch).
func (s *Sim) wallEra(n *node) uint32 { return uint32(int64(s.local(n)) / int64(time.Second)) }

// dirCopy is the operator's copy of a voter's data dir: the durable era,
// the bounds, the boot counter and, if it was taken at a clean stop, the
// clean-shutdown State.
type dirCopy struct {
	era    uint32
	bounds protocol.Bounds
	boots  uint64
	state  []byte
	peers  []protocol.PeerIncarnation
	config *protocol.ConfigRecord // the configuration record (R21), nil at epoch 0
	down   bool                   // taken while the node was down
}

// staleCopy reports whether n's next start will be from a copy of its
// data dir that is not what the dir holds now: restore is set and the copy
// was taken while n ran, or n has started since.
func (n *node) staleCopy() bool {
	return n.restore && n.backup != nil && !(n.backup.down && n.maxBoot == n.backup.boots)
}

// Operator actions, in trOp records (a) and evOp events (aux).
const (
	opLower     = 1 + iota // MaxTTL lowered for every later start
	opBackup               // a copy of a voter's data dir taken
	opRestore              // a voter restarted from its stale copy
	opWipe                 // a voter restarted with an empty data dir
	opAgentStop            // an agent stops (edge.go)
	opRoll                 // the rolling restart reaches a node
	opOpened               // a restored or wiped voter opens (assume.go): b = its era
	opRefused              // a node refuses to start: a live member runs another identity
)

var opNames = [...]string{"", "lowers MaxTTL for every later start", "copies the data dir",
	"restarts it from the stale copy of its data dir", "restarts it with an empty data dir", "stops the agent",
	"kills it to restart it with the lower MaxTTL", "restored voter opens after its quarantine, era",
	"refuses to start: a live member it reaches runs another voter list"}

func (s *Sim) traceOp(n *node, op int, b int64) {
	idx := uint16(noNode)
	if n != nil {
		idx = uint16(n.idx)
	}
	s.tr.add(record{at: s.now, kind: trOp, node: idx, peer: noNode, lease: -1, a: uint64(op), b: b})
}

// operatorStart is the Start of a restart of n, once the operator's
// changes are applied: the lowered MaxTTL, a stale copy or an empty dir in
// place of the data dir (replaced reports which). The caller turns a found
// clean State into a clean start.
func (s *Sim) operatorStart(n *node) (st protocol.Start, replaced bool) {
	if n.cfgLow != nil && s.lowered {
		n.cfg = *n.cfgLow
	}
	switch {
	case n.noDisk:
		n.state = nil
		return protocol.Start{Kind: protocol.StartCrashed, Era: s.wallEra(n)}, false
	case n.wipe:
		n.wipe, n.restore = false, false
		n.durableEra, n.durableBounds, n.boots, n.state, n.durablePeers = 0, protocol.Bounds{}, 0, nil, nil
		n.durableConfig = nil
		s.traceOp(n, opWipe, 0)
		s.ops.Wipes++
		if s.opts.Operator.WipeFresh {
			return protocol.Start{Kind: protocol.StartFresh}, true
		}
		replaced = true
	case n.restore && n.backup != nil:
		b := n.backup
		n.durableEra, n.durableBounds, n.boots, n.durablePeers = b.era, b.bounds, b.boots, slices.Clone(b.peers)
		n.durableConfig = b.config
		replaced = n.staleCopy()
		n.restore = false
		n.state = slices.Clone(b.state)
		s.traceOp(n, opRestore, int64(b.boots))
		if replaced {
			s.ops.Restores++
		}
	}
	return protocol.Start{Kind: protocol.StartCrashed, Era: n.durableEra}, replaced
}

// lowerMaxTTL is the operator's change of --max-ttl: every later start
// runs with the lower value. With roll, the operator kills every node in
// turn, TTL/4 apart, to restart it with the change.
func (s *Sim) lowerMaxTTL(roll bool) {
	if s.lowered || s.opts.Operator.LowMaxTTL <= 0 {
		return
	}
	s.lowered = true
	s.traceOp(nil, opLower, int64(s.opts.Operator.LowMaxTTL))
	if !roll {
		return
	}
	for i := range s.nodes {
		s.push(event{at: s.now + int64(i)*int64(s.opts.TTL/4), kind: evOp, aux: opRoll, node: int32(i)})
	}
}

func (s *Sim) onOp(e *event) {
	s.stats.events++
	switch e.aux {
	case opLower:
		s.lowerMaxTTL(true)
	case opRoll:
		n := s.nodes[e.node]
		if n.down || s.quiet {
			return
		}
		if !s.allows(&hypo{away: []int{n.idx}}) {
			// The operator waits: this node is the last that can tell a
			// restored voter the newer state (assume.go).
			s.heldBack()
			s.push(event{at: s.now + s.retryLater(), kind: evOp, aux: opRoll, node: e.node})
			return
		}
		s.traceOp(n, opRoll, 0)
		s.crash(n, s.uniform(10*time.Millisecond, 200*time.Millisecond))
	default:
		s.onReconfigOp(e)
	}
}

// takeBackup copies n's data dir: as it lies if n is down; of a running
// voter either a hot copy (no clean State in it) or, half the time, a copy
// taken at a clean stop, after which n starts again shortly (a hot copy
// if that stop would break the limit of assume.go).
func (s *Sim) takeBackup(n *node) {
	if !n.down && !n.paused && s.rnd.IntN(2) == 0 {
		if s.allows(&hypo{away: []int{n.idx}}) {
			s.shutdown(n, s.uniform(time.Millisecond, 100*time.Millisecond))
		} else {
			s.heldBack()
		}
	}
	n.backup = &dirCopy{era: n.durableEra, bounds: n.durableBounds, boots: n.boots, state: slices.Clone(n.state),
		peers: slices.Clone(n.durablePeers), config: n.durableConfig, down: n.down}
	s.traceOp(n, opBackup, int64(n.boots))
}

// restoreBackup makes n's next start use its backup: a running n is
// stopped (a crash) and starts again shortly.
func (s *Sim) restoreBackup(n *node) {
	n.restore = true
	n.staleEra = s.grantEra()
	if !n.down {
		s.crash(n, s.uniform(time.Millisecond, s.opts.TTL))
	}
}

// wipeDir makes n's next start find an empty data dir.
func (s *Sim) wipeDir(n *node) {
	n.wipe = true
	n.staleEra = s.grantEra()
	if !n.down {
		s.crash(n, s.uniform(time.Millisecond, s.opts.TTL))
	}
}

// randomRestore is one operator action on data dirs: a backup of a voter,
// or, half the time once backups exist, the restore of one voter up to a
// bare majority from their copies at once (last night's backup put back
// on several machines), as many as the limit of assume.go allows.
func (s *Sim) randomRestore() {
	cand := s.operatorVoters()
	var have []int
	for _, i := range cand {
		if n := s.nodes[i]; n.backup != nil && !n.restore && !n.wipe {
			have = append(have, i)
		}
	}
	if len(have) == 0 || s.rnd.IntN(2) == 0 {
		s.takeBackup(s.nodes[cand[s.rnd.IntN(len(cand))]])
		return
	}
	s.rnd.Shuffle(len(have), func(i, j int) { have[i], have[j] = have[j], have[i] })
	k := 1 + s.rnd.IntN(s.opts.Voters/2+1)
	var group []int
	for _, i := range have {
		if len(group) == k {
			break
		}
		if s.staleOK(append(group, i), func(n *node, on bool) { n.restore = on }) {
			group = append(group, i)
		} else {
			s.heldBack()
		}
	}
	for _, i := range group {
		s.restoreBackup(s.nodes[i])
	}
}

// staleOK reports whether making the voters in group stale (mark sets
// the restore or wipe flag) keeps the limit of assume.go; the flags are
// left as they were.
func (s *Sim) staleOK(group []int, mark func(*node, bool)) bool {
	for _, i := range group {
		mark(s.nodes[i], true)
	}
	h := &hypo{away: s.awayIfUp(group), stale: group}
	ok := s.allows(h) && !s.staleMajority(h)
	for _, i := range group {
		mark(s.nodes[i], false)
	}
	return ok
}

// operatorVoters is the nodes whose data dirs the operator's restores and
// wipes touch: the configured voters and, with WipeAdded, every node with a
// data dir that a voter change made a voter of the newest configuration
// (an added voter whose disk is replaced, then started again under the
// initial list that names it no voter, is the case verifyNewVoter in
// protocol guards). WipeAdded is off by default, so that the default
// sweeps draw what they drew before it existed.
func (s *Sim) operatorVoters() []int {
	var out []int
	for i, n := range s.nodes {
		if i < s.opts.Voters || (s.opts.Operator.WipeAdded && !n.noDisk && s.voterNow(n)) {
			out = append(out, i)
		}
	}
	return out
}

// randomWipe restarts one voter with an empty data dir: the first, in a
// random order, that the limit of assume.go allows.
func (s *Sim) randomWipe() {
	cand := s.operatorVoters()
	for _, j := range s.rnd.Perm(len(cand)) {
		i := cand[j]
		n := s.nodes[i]
		if n.wipe || n.restore {
			continue
		}
		if s.staleOK([]int{i}, func(n *node, on bool) { n.wipe = on }) {
			s.wipeDir(n)
			return
		}
		s.heldBack()
	}
}

// zombies makes the datagrams in flight from and to a stopping node
// outlive its incarnation: each is delivered once more after the restart
// at restartAt (up to a TTL later), from or to the next incarnation.
func (s *Sim) zombies(n *node, restartAt int64) {
	var copies []event
	for i := range s.q {
		e := &s.q[i]
		if e.kind == evDeliver && (e.node == int32(n.idx) || e.aux == int32(n.idx)) {
			copies = append(copies, *e)
		}
	}
	for _, e := range copies {
		h := s.net.alloc(s.net.bytes(e.buf))
		s.push(event{at: restartAt + s.uniform(0, s.opts.TTL), kind: evDeliver, node: e.node, aux: e.aux, buf: h})
	}
}

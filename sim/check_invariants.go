package sim

import "fmt"

// Checker (e): each machine keeps its local invariants
// (protocol.Machine.CheckInvariants: the era floor, a promise and the
// forgotten watermark never fall, an accepted ballot is never above the
// promise, a tenure's deadline only moves later, each tenure of a name is
// won with a higher ballot). The simulator asks at the start of flush,
// after an input it gave the machine (a datagram, a wake-up, a request of
// the workload or the edge), and reports a failure as a VInvariant
// violation with the seed that replays it. A restarted node gets a new
// machine, whose marks start afresh.
//
// Checking after every input costs about a quarter of the simulator's CPU
// time (the profile of BenchmarkSimDefault), so each node is checked after
// one input in invariantEvery (its first, then every invariantEvery-th),
// which costs about 5%. The choice depends on the inputs only, so on the
// seed: a replay checks at the same inputs. A check compares the machine
// with what the previous check of the same machine saw, so a promise or a
// floor that fell between two checks is still caught, at the next one; only
// a break undone before the next check goes unseen.
//
// The check reads the machine and changes nothing it does: the trace and
// the digests of fixed seeds are the same with it as without it.

// invariantEvery is how many inputs of a node pass between two checks of
// its machine's invariants.
const invariantEvery = 8

// invariantInterval is invariantEvery, stretched for runs with many lease
// names: a check walks every name the machine knows (a voter of a run over
// ten thousand names knows them all), so it is made after one input in
// Leases/16 (at least invariantEvery) to keep its cost near that of a run
// with a few names. A break between two checks is still caught at the next.
func (o *Options) invariantInterval() uint32 {
	return uint32(max(invariantEvery, o.Leases/16))
}

// checkInvariants runs checker (e) for node n's machine, on the inputs the
// sampling picks.
func (s *Sim) checkInvariants(n *node) {
	if n.m == nil || s.viol != nil {
		return
	}
	if n.invSkip > 0 {
		n.invSkip--
		return
	}
	n.invSkip = s.opts.invariantInterval() - 1
	s.chk.checks.Invariants++
	if err := n.m.CheckInvariants(); err != nil {
		s.violate(VInvariant, -1, []int{n.idx}, fmt.Sprintf("%s broke a local invariant: %v", n.name, err))
	}
}

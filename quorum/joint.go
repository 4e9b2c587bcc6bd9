package quorum

import (
	"math/bits"
	"slices"
)

// Rule decides votes under one voter configuration: a simple one (a
// strict majority of one set) or a joint one (a strict majority of the old
// set and, separately, a strict majority of the new set), as voter
// reconfiguration needs while it moves from one set to the next. Votes are
// recorded by index in All, the union of both sets, so one Votes serves
// both majorities and still counts each voter once (R2).
//
// While joint, every quorum contains a majority of the old set, so it
// meets every quorum of the configuration before (old majorities only);
// and a majority of the new set, so it meets every quorum of the one after
// (new majorities only). A union majority or either half alone would not.
type Rule struct {
	all      Set
	old, new uint64 // masks of All indices
	joint    bool
}

// NewRule builds the rule of a configuration: old alone when next is nil,
// joint (old and next) otherwise. Both lists are checked as NewSet checks
// one, and their union must have at most MaxVoters names.
func NewRule(old, next []string) (Rule, error) {
	o, err := NewSet(old)
	if err != nil {
		return Rule{}, err
	}
	if next == nil {
		return Rule{all: o, old: mask(len(o.names)), new: mask(len(o.names))}, nil
	}
	nx, err := NewSet(next)
	if err != nil {
		return Rule{}, err
	}
	union := slices.Clone(o.names)
	for _, n := range nx.names {
		if !o.Contains(n) {
			union = append(union, n)
		}
	}
	all, err := NewSet(union)
	if err != nil {
		return Rule{}, err
	}
	r := Rule{all: all, joint: true}
	for i, n := range all.names {
		if o.Contains(n) {
			r.old |= 1 << uint(i)
		}
		if nx.Contains(n) {
			r.new |= 1 << uint(i)
		}
	}
	return r, nil
}

func mask(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<uint(n) - 1
}

// All is the union of the configuration's voters: who is asked, and the
// index space of the Votes the rule decides.
func (r Rule) All() Set { return r.all }

// Joint reports whether the rule needs two majorities.
func (r Rule) Joint() bool { return r.joint }

// Result decides v (indices of All): Won when a majority of the old set
// and, if joint, a majority of the new set said yes; Lost when either can
// no longer say yes; Pending otherwise. For a simple rule it is exactly
// v.Result(r.All()).
func (r Rule) Result(v Votes) Result {
	if r.all.Len() == 0 {
		return Lost
	}
	a := v.resultIn(r.old)
	if !r.joint {
		return a
	}
	return Both(a, v.resultIn(r.new))
}

// ResultOld and ResultNew decide v over one half only. A joint
// configuration never decides by one half; these exist to show, in the
// weakened builds of the protocol, what deciding so breaks.
func (r Rule) ResultOld(v Votes) Result { return v.resultIn(r.old) }

// ResultNew decides v over the new half only (see ResultOld).
func (r Rule) ResultNew(v Votes) Result { return v.resultIn(r.new) }

// InOld reports whether voter i of All belongs to the old set.
func (r Rule) InOld(i int) bool { return r.old&(1<<uint(i)) != 0 }

// InNew reports whether voter i of All belongs to the new set (for a
// simple rule, the one set).
func (r Rule) InNew(i int) bool { return r.new&(1<<uint(i)) != 0 }

// Both combines the results of two majorities that are both needed: won
// only when both are won, lost as soon as either is lost.
func Both(a, b Result) Result {
	switch {
	case a == Lost || b == Lost:
		return Lost
	case a == Won && b == Won:
		return Won
	}
	return Pending
}

// resultIn decides the vote over the voters in mask m.
func (v Votes) resultIn(m uint64) Result {
	n := bits.OnesCount64(m)
	if n == 0 {
		return Lost
	}
	maj := n/2 + 1
	if bits.OnesCount64(v.yes&m) >= maj {
		return Won
	}
	if n-bits.OnesCount64(v.no&m) < maj {
		return Lost
	}
	return Pending
}

package protocol

import (
	"errors"
	"fmt"
)

// Local invariants of one machine, checked assert-style between inputs. Each
// is a consequence of a rule that the code keeps at the place it changes
// the state; CheckInvariants checks the outcome instead of the code path,
// so a change that breaks one is caught whichever path it takes:
//
//   - the era floor never falls, nor the era below which ballots are
//     refused (R12);
//   - an acceptor's promise for a name never falls, also when its slot is
//     garbage-collected: the forgotten watermark then covers it (R3, R4),
//     and the watermark itself never falls;
//   - an accepted ballot is never above the promise (R5);
//   - a tenure's usable deadline only moves later (R11);
//   - each tenure of a name this node wins has a higher ballot, so a higher
//     token, than the one before it (R12).
//
// The checks cost nothing unless called: the machine keeps no marks until
// the first call.

// invariantMarks is what the previous CheckInvariants saw.
type invariantMarks struct {
	era, rejectBelow uint32
	forgotten        Ballot
	promised         map[string]Ballot     // per slot
	tenures          map[string]tenureMark // the latest tenure of each name
}

// tenureMark is one tenure as CheckInvariants last saw it.
type tenureMark struct {
	ballot   Ballot
	deadline Time
}

// CheckInvariants reports every local invariant (see invariants.go) the
// machine broke since the previous call, as an error wrapping ErrInvariant;
// nil if none. The first call checks only what needs no history. A driver
// that calls it after every input (the tests' harness does) turns a broken
// invariant into an error at the input that broke it. It changes nothing the
// protocol does.
func (m *Machine) CheckInvariants() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvariant}, a...)...))
	}
	mk := m.marks
	first := mk == nil
	if first {
		mk = &invariantMarks{promised: map[string]Ballot{}, tenures: map[string]tenureMark{}}
		m.marks = mk
	} else {
		if m.era < mk.era {
			bad("R12: era floor fell from %d to %d", mk.era, m.era)
		}
		if m.rejectBelow < mk.rejectBelow {
			bad("R12: refused-era bound fell from %d to %d", mk.rejectBelow, m.rejectBelow)
		}
		if m.forgotten.Cmp(mk.forgotten) < 0 {
			bad("R3: forgotten watermark fell from %v to %v", mk.forgotten, m.forgotten)
		}
	}
	mk.era, mk.rejectBelow, mk.forgotten = m.era, m.rejectBelow, m.forgotten
	// The marks are updated in place: one pass over the slots and the
	// claims, and no allocation once every name has a mark.
	for name, p := range mk.promised {
		if _, ok := m.slots[name]; !ok {
			// The slot was collected: the watermark must cover its promise.
			if m.forgotten.Cmp(p) < 0 {
				bad("R4: promise for %q fell from %v to %v", name, p, m.forgotten)
			}
			delete(mk.promised, name)
		}
	}
	for name, s := range m.slots {
		if s.ballot.Cmp(s.promised) > 0 {
			bad("R5: %q accepted %v above its promise %v", name, s.ballot, s.promised)
		}
		if p, ok := mk.promised[name]; ok && s.promised.Cmp(p) < 0 {
			bad("R4: promise for %q fell from %v to %v", name, p, s.promised)
		}
		mk.promised[name] = s.promised
	}
	for name, l := range m.claims {
		if !l.held() {
			continue
		}
		cur := tenureMark{ballot: l.ballot, deadline: l.deadline}
		if p, ok := mk.tenures[name]; ok {
			switch {
			case cur.ballot.Same(p.ballot) && cur.deadline < p.deadline:
				bad("R11: deadline of %q (%v) moved earlier: %d after %d", name, cur.ballot, cur.deadline, p.deadline)
			case !cur.ballot.Same(p.ballot) && cur.ballot.Cmp(p.ballot) <= 0:
				bad("R12: tenure of %q at %v not above the earlier %v", name, cur.ballot, p.ballot)
			}
		}
		mk.tenures[name] = cur
	}
	return errors.Join(errs...)
}

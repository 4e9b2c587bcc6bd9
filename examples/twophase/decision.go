package main

import (
	"fmt"
	"sync"

	"github.com/tenure-dev/tenure/fence"
)

// outcome is the fate of a transaction.
type outcome int

const (
	undecided outcome = iota
	commit
	abort
)

func (o outcome) String() string {
	switch o {
	case commit:
		return "commit"
	case abort:
		return "abort"
	}
	return "undecided"
}

// decisionLog records the outcome of each transaction. Recording commit is
// the commit point: before it, a transaction may still be aborted; after
// it, it must be committed everywhere. The log outlives any coordinator
// (in a real system it is durable storage of its own: a replicated log, or
// a database row written with fsync; here it is a map that outlives the
// crashed coordinator's node).
//
// A decision is written once and never changed, and a write is fenced by
// the tokens of every participant lock the transaction holds, with fences
// bound to those locks' names: a coordinator that has lost any of its locks
// to a newer one records nothing.
type decisionLog struct {
	fences []*fence.Resource // one per participant lock, in lock order

	mu      sync.Mutex
	decided map[string]outcome
}

// newDecisionLog makes an empty log fenced by the locks of ps.
func newDecisionLog(ps []*participant) (*decisionLog, error) {
	g := fence.New()
	l := &decisionLog{decided: make(map[string]outcome)}
	for _, p := range ps {
		f, err := g.Resource(lockName(p.name))
		if err != nil {
			return nil, err
		}
		l.fences = append(l.fences, f)
	}
	return l, nil
}

// decide returns the outcome recorded for tx, recording want first if none
// is (recorded reports whether this call did). tokens holds the caller's
// token for each lock, in lock order. A stale token for any lock fails the
// call with fence.ErrStale and records nothing. The fences are taken in
// lock order, one inside the other, so the check and the write are one
// step and two callers cannot deadlock.
func (l *decisionLog) decide(tx string, want outcome, tokens []uint64) (got outcome, recorded bool, err error) {
	if len(tokens) != len(l.fences) {
		return undecided, false, fmt.Errorf("decide %s: %d tokens for %d locks", tx, len(tokens), len(l.fences))
	}
	if want != commit && want != abort {
		return undecided, false, fmt.Errorf("decide %s: cannot record %v", tx, want)
	}
	err = underAll(l.fences, tokens, func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		got = l.decided[tx]
		if got == undecided {
			l.decided[tx], got, recorded = want, want, true
		}
		return nil
	})
	return got, recorded, err
}

// lookup returns the outcome recorded for tx; it is for reporting.
func (l *decisionLog) lookup(tx string) outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.decided[tx]
}

// underAll runs op inside fs[0].Do(tokens[0], ...) inside fs[1].Do(...)
// and so on: op runs only if every token is admitted.
func underAll(fs []*fence.Resource, tokens []uint64, op func() error) error {
	if len(fs) == 0 {
		return op()
	}
	return fs[0].Do(tokens[0], func() error { return underAll(fs[1:], tokens[1:], op) })
}

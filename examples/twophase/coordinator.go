package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tenure-dev/tenure/fence"
)

// step is a point in a coordinator's run of a transaction at which the
// example crashes it.
type step int

const (
	beforePrepare     step = iota // locks taken, nothing sent
	afterSomePrepares             // prepared at the first participant only
	afterAllPrepares              // every participant voted yes, no decision yet
	afterDecision                 // commit recorded, no commit sent
	afterSomeCommits              // committed at the first participant only
)

// steps lists every crash point, in protocol order.
var steps = []step{beforePrepare, afterSomePrepares, afterAllPrepares, afterDecision, afterSomeCommits}

// stepNames are the --crash flag's values.
var stepNames = map[step]string{
	beforePrepare:     "before-prepare",
	afterSomePrepares: "some-prepares",
	afterAllPrepares:  "all-prepares",
	afterDecision:     "decision",
	afterSomeCommits:  "some-commits",
}

func (s step) String() string {
	switch s {
	case beforePrepare:
		return "before any prepare"
	case afterSomePrepares:
		return "after some prepares"
	case afterAllPrepares:
		return "after all prepares, before the decision"
	case afterDecision:
		return "after the decision, before any commit"
	case afterSomeCommits:
		return "after some commits"
	}
	return fmt.Sprintf("step(%d)", int(s))
}

// sent returns how many messages of a plan over n participants a
// coordinator has sent when it crashes at s; the next one is in flight.
func (s step) sent(n int) int {
	switch s {
	case afterSomePrepares:
		return 1
	case afterAllPrepares:
		return n
	case afterDecision:
		return n + 1
	case afterSomeCommits:
		return n + 2
	}
	return 0
}

// coordinator runs transactions over every participant, holding their
// locks as leases. Every transaction of this example spans all of them; in
// general a prepare carries the participant list, and a recovering
// coordinator takes the locks of every participant of an in-doubt
// transaction.
type coordinator struct {
	name   string
	ps     []*participant
	log    *decisionLog
	tokens []uint64 // its lock token at each participant, in order
	out    func(string, ...any)
}

// message is one message a coordinator sends.
type message struct {
	what  string
	toLog bool // to the decision log, not to a participant
	send  func() error
}

// plan returns the messages of a two-phase commit of tx, in order: prepare
// at each participant, record the decision (the commit point), commit at
// each participant. Each carries c's token for the lock it concerns; the
// decision record carries all of them.
func (c *coordinator) plan(tx string) []message {
	var ms []message
	for i, p := range c.ps {
		ms = append(ms, message{
			what: fmt.Sprintf("prepare %s at %s (token %d)", tx, p.name, c.tokens[i]),
			send: func() error { return p.prepare(tx, c.tokens[i]) },
		})
	}
	ms = append(ms, message{
		what:  fmt.Sprintf("record commit of %s in the decision log", tx),
		toLog: true,
		send: func() error {
			d, _, err := c.log.decide(tx, commit, c.tokens)
			if err == nil && d != commit {
				// Only a coordinator with newer tokens could have decided
				// otherwise, and then this call would have been stale.
				err = fmt.Errorf("%s was already decided: %v", tx, d)
			}
			return err
		},
	})
	for i, p := range c.ps {
		ms = append(ms, message{
			what: fmt.Sprintf("commit %s at %s (token %d)", tx, p.name, c.tokens[i]),
			send: func() error { return p.commit(tx, c.tokens[i]) },
		})
	}
	return ms
}

// run commits tx at every participant. If a prepare is refused before the
// decision, it records abort and aborts tx everywhere instead. If any
// message is refused as stale, c has lost a lock to a newer coordinator:
// it stops at once and leaves the transaction to that one.
func (c *coordinator) run(tx string) error {
	for i, m := range c.plan(tx) {
		err := m.send()
		if err == nil {
			continue
		}
		err = fmt.Errorf("%s: %s: %w", c.name, m.what, err)
		if errors.Is(err, fence.ErrStale) || i >= len(c.ps) {
			return err
		}
		return errors.Join(err, c.finish(tx, abort))
	}
	c.out("%s committed %s at every participant", c.name, tx)
	return nil
}

// recover resolves every transaction left in doubt at c's participants.
// A new lock holder calls it before it uses the locks for anything else.
// A prepared participant never decides by itself, and c never discards a
// prepared vote without a recorded decision.
func (c *coordinator) recover() error {
	txs, err := c.ask()
	if err != nil {
		return err
	}
	return c.resolve(txs)
}

// ask asks each participant what is in doubt there, with c's token, which
// also fences the previous lock holder's late messages out of it.
func (c *coordinator) ask() ([]string, error) {
	var txs []string
	where := make(map[string][]string)
	for i, p := range c.ps {
		tx, err := p.inDoubt(c.tokens[i])
		if err != nil {
			return nil, fmt.Errorf("%s: ask %s: %w", c.name, p.name, err)
		}
		if tx == "" {
			continue
		}
		if !slices.Contains(txs, tx) {
			txs = append(txs, tx)
		}
		where[tx] = append(where[tx], p.name)
	}
	if len(txs) == 0 {
		c.out("%s asked every participant: nothing in doubt", c.name)
	}
	for _, tx := range txs {
		c.out("%s asked every participant: %s in doubt at %v", c.name, tx, where[tx])
	}
	return txs, nil
}

// resolve asks the decision log, under c's tokens (which fences the
// previous holder out of the log), for the fate of each transaction: a
// recorded commit is carried out everywhere; with nothing recorded, c
// records abort first, durably, and only then aborts everywhere.
func (c *coordinator) resolve(txs []string) error {
	for _, tx := range txs {
		if err := c.finish(tx, abort); err != nil {
			return err
		}
	}
	return nil
}

// finish records want for tx unless an outcome is already recorded, and
// applies the recorded outcome at every participant.
func (c *coordinator) finish(tx string, want outcome) error {
	d, recorded, err := c.log.decide(tx, want, c.tokens)
	if err != nil {
		return fmt.Errorf("%s: decide %s: %w", c.name, tx, err)
	}
	if recorded {
		c.out("%s: no decision for %s in the log; recorded %v", c.name, tx, d)
	} else {
		c.out("%s: the log says %v for %s", c.name, d, tx)
	}
	for i, p := range c.ps {
		apply := p.abort
		if d == commit {
			apply = p.commit
		}
		if err := apply(tx, c.tokens[i]); err != nil {
			return fmt.Errorf("%s: %v %s at %s: %w", c.name, d, tx, p.name, err)
		}
	}
	c.out("%s: %v of %s applied at every participant", c.name, d, tx)
	return nil
}

// checkAtomic returns, for each transaction, whether it committed; it
// fails if a transaction committed at some participants and not at others,
// or if anything is left in doubt.
func checkAtomic(ps []*participant, txs ...string) (map[string]bool, error) {
	committed := make(map[string]bool)
	var errs []error
	for _, tx := range txs {
		n := 0
		for _, p := range ps {
			if c, _ := p.state(); slices.Contains(c, tx) {
				n++
			}
		}
		if n != 0 && n != len(ps) {
			errs = append(errs, fmt.Errorf("atomicity violated: %s committed at %d of %d participants", tx, n, len(ps)))
		}
		committed[tx] = n == len(ps)
	}
	for _, p := range ps {
		if _, tx := p.state(); tx != "" {
			errs = append(errs, fmt.Errorf("%s left in doubt at %s", tx, p.name))
		}
	}
	return committed, errors.Join(errs...)
}

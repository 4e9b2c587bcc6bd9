package main

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tenure-dev/tenure/fence"
)

// The tokens of the protocol tests: c2's lock on each participant is a
// later tenure than c1's, so each of its tokens is higher (R12).
var (
	oldTokens = []uint64{5, 7, 9}
	newTokens = []uint64{6, 8, 10}
)

// setup returns three participants, their decision log, and a coordinator
// factory.
func setup(t *testing.T) ([]*participant, *decisionLog, func(name string, tokens []uint64) *coordinator) {
	t.Helper()
	var ps []*participant
	for _, name := range []string{"p1", "p2", "p3"} {
		p, err := newParticipant(name)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	log, err := newDecisionLog(ps)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string, tokens []uint64) *coordinator {
		return &coordinator{name: name, ps: ps, log: log, tokens: tokens, out: func(string, ...any) {}}
	}
	return ps, log, mk
}

// When c1's remaining messages arrive, relative to c2's recovery.
type delivery int

const (
	beforeRecovery delivery = iota // c1 was only slow: nothing fenced it yet
	afterAsk                       // c2 has asked the participants, not the log
	afterRecovery                  // c2 has resolved what was in doubt
	afterNextTx                    // c2 has committed tx2 too
)

func (d delivery) String() string {
	return [...]string{"before c2's recovery", "after c2 asked the participants", "after c2's recovery", "after c2 committed tx2"}[d]
}

// Every crash point, every moment c1's delayed messages can arrive, and
// both one late message and a stalled c1 that resumes and sends the rest of
// its plan (stopping at its first refusal, as run does): every participant
// ends with the same outcome for each transaction, that outcome is the one
// the decision log records, nothing is left in doubt, and once c2 has
// asked a participant or the log, c1's next message to it is refused as
// stale.
func TestAtomicAcrossCrashAndLateMessages(t *testing.T) {
	for _, st := range steps {
		for d := beforeRecovery; d <= afterNextTx; d++ {
			for _, resume := range []bool{false, true} {
				name := fmt.Sprintf("crash %v, delivered %v, resume %v", st, d, resume)
				t.Run(name, func(t *testing.T) {
					ps, log, mk := setup(t)
					c1, c2 := mk("c1", oldTokens), mk("c2", newTokens)
					ms := c1.plan("tx1")
					n := st.sent(len(ps))
					for _, m := range ms[:n] {
						if err := m.send(); err != nil {
							t.Fatalf("c1: %s: %v", m.what, err)
						}
					}
					late := ms[n : n+1]
					if resume {
						late = ms[n:]
					}
					var firstErr error
					deliver := func() {
						for i, m := range late {
							err := m.send()
							if i == 0 {
								firstErr = err
							}
							if err != nil {
								return
							}
						}
					}
					if d == beforeRecovery {
						deliver()
					}
					txs, err := c2.ask()
					if err != nil {
						t.Fatal(err)
					}
					if d == afterAsk {
						deliver()
					}
					if err := c2.resolve(txs); err != nil {
						t.Fatal(err)
					}
					if d == afterRecovery {
						deliver()
					}
					if err := c2.run("tx2"); err != nil {
						t.Fatal(err)
					}
					if d == afterNextTx {
						deliver()
					}

					committed, err := checkAtomic(ps, "tx1", "tx2")
					if err != nil {
						t.Fatal(err)
					}
					if !committed["tx2"] {
						t.Fatal("tx2 did not commit")
					}
					if committed["tx1"] != (log.lookup("tx1") == commit) {
						t.Fatalf("tx1 committed %v, log says %v", committed["tx1"], log.lookup("tx1"))
					}
					if st >= afterDecision && !committed["tx1"] {
						t.Fatal("tx1 was recorded as committed before the crash, but did not commit")
					}
					// c2 asks the participants before anything else, and the log
					// in resolve; from then on c1's message is stale there.
					fenced := d >= afterRecovery || d == afterAsk && !late[0].toLog
					if fenced && !errors.Is(firstErr, fence.ErrStale) {
						t.Fatalf("c1's late %s answered %v, want stale", late[0].what, firstErr)
					}
				})
			}
		}
	}
}

// The bug of the old example: a participant with a prepared transaction
// dropped it when a higher token prepared another, so tx1 could commit at
// p1 and vanish at p2. A prepared participant never decides alone: it
// refuses the new transaction and keeps its vote until a coordinator that
// knows the outcome tells it.
func TestPreparedVoteNotOverwritten(t *testing.T) {
	ps, _, _ := setup(t)
	p := ps[0]
	if err := p.prepare("tx1", 5); err != nil {
		t.Fatal(err)
	}
	if err := p.prepare("tx2", 6); !errors.Is(err, errInDoubt) {
		t.Fatalf("prepare tx2 with a higher token while tx1 is in doubt = %v, want errInDoubt", err)
	}
	if _, tx := p.state(); tx != "tx1" {
		t.Fatalf("in doubt: %q, want tx1 kept", tx)
	}
	// The higher token still fenced the old holder out.
	if err := p.commit("tx1", 5); !errors.Is(err, fence.ErrStale) {
		t.Fatalf("commit with the old token = %v, want stale", err)
	}
	// A coordinator that learned the outcome finishes tx1; then tx2 may go.
	if err := p.commit("tx1", 6); err != nil {
		t.Fatal(err)
	}
	if err := p.prepare("tx2", 6); err != nil {
		t.Fatal(err)
	}
	if err := p.abort("tx1", 6); !errors.Is(err, errDecided) {
		t.Fatalf("abort of a committed transaction = %v, want errDecided", err)
	}
	if c, _ := p.state(); !slices.Equal(c, []string{"tx1"}) {
		t.Fatalf("committed %v", c)
	}
}

// A stale coordinator's abort is refused at the participants and at the
// log, so it cannot undo a transaction a newer coordinator committed.
func TestStaleAbortRefused(t *testing.T) {
	ps, log, mk := setup(t)
	c1, c2 := mk("c1", oldTokens), mk("c2", newTokens)
	ms := c1.plan("tx1")
	for _, m := range ms[:afterDecision.sent(len(ps))] {
		if err := m.send(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c2.recover(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := log.decide("tx1", abort, c1.tokens); !errors.Is(err, fence.ErrStale) {
		t.Fatalf("stale decide abort = %v, want stale", err)
	}
	for i, p := range ps {
		if err := p.abort("tx1", c1.tokens[i]); !errors.Is(err, fence.ErrStale) {
			t.Fatalf("stale abort at %s = %v, want stale", p.name, err)
		}
	}
	if committed, err := checkAtomic(ps, "tx1"); err != nil || !committed["tx1"] {
		t.Fatalf("tx1 committed %v, %v; want committed everywhere", committed, err)
	}
}

// A decision is written once, and only under a token not stale for any of
// the transaction's locks.
func TestDecisionLog(t *testing.T) {
	_, log, _ := setup(t)
	mixed := []uint64{6, 7, 10} // stale for p2's lock once newTokens are seen
	if d, rec, err := log.decide("tx1", commit, oldTokens); err != nil || d != commit || !rec {
		t.Fatalf("first decide = %v, %v, %v", d, rec, err)
	}
	if d, rec, err := log.decide("tx1", abort, newTokens); err != nil || d != commit || rec {
		t.Fatalf("second decide = %v, %v, %v; want the recorded commit", d, rec, err)
	}
	if _, _, err := log.decide("tx2", abort, mixed); !errors.Is(err, fence.ErrStale) {
		t.Fatalf("decide with one stale token = %v, want stale", err)
	}
	if d := log.lookup("tx2"); d != undecided {
		t.Fatalf("refused decide recorded %v", d)
	}
	if _, _, err := log.decide("tx2", commit, newTokens[:2]); err == nil {
		t.Fatal("decide with a token missing succeeded")
	}
	if _, _, err := log.decide("tx2", undecided, newTokens); err == nil {
		t.Fatal("decide undecided succeeded")
	}
}

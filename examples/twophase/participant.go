package main

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/tenure-dev/tenure/fence"
)

// errInDoubt means a participant holds a prepared transaction whose outcome
// it does not know. It keeps it, and refuses a new one, until a coordinator
// that knows the outcome (from the decision log) commits or aborts it: a
// prepared participant promised to commit if told to, so it must not drop
// its vote, whatever token the next coordinator carries.
var errInDoubt = errors.New("a prepared transaction is in doubt")

// errDecided means a message contradicts the outcome a participant already
// applied (commit of an aborted transaction, abort of a committed one). The
// protocol never sends one; the participant refuses it rather than break
// atomicity.
var errDecided = errors.New("transaction already decided the other way")

// participant is one resource manager. Every message it takes is fenced by
// the token of the lock lease the coordinator holds on it: its fence is
// bound to that lock's name, so a message carries a token and nothing that
// could pick another name.
type participant struct {
	name  string
	fence *fence.Resource

	mu        sync.Mutex
	prepared  string // the transaction prepared here, in doubt until decided
	committed []string
	aborted   []string
}

// lockName is the lease name of a participant's lock.
func lockName(participant string) string { return "lock/" + participant }

// newParticipant makes participant name with a fence bound to its lock.
func newParticipant(name string) (*participant, error) {
	f, err := fence.New().Resource(lockName(name))
	if err != nil {
		return nil, err
	}
	return &participant{name: name, fence: f}, nil
}

// prepare votes yes for tx: from now on the participant commits tx if told
// to and never decides alone. It refuses while another transaction is in
// doubt here (errInDoubt).
func (p *participant) prepare(tx string, token uint64) error {
	return p.fence.Do(token, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case p.prepared == tx:
			return nil
		case p.prepared != "":
			return fmt.Errorf("%s: %w: %s", p.name, errInDoubt, p.prepared)
		case slices.Contains(p.committed, tx), slices.Contains(p.aborted, tx):
			return fmt.Errorf("%s: %s is already decided", p.name, tx)
		}
		p.prepared = tx
		return nil
	})
}

// commit applies tx, which must be prepared here (or already committed: a
// recovering coordinator may repeat a commit).
func (p *participant) commit(tx string, token uint64) error {
	return p.fence.Do(token, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case slices.Contains(p.committed, tx):
			return nil
		case slices.Contains(p.aborted, tx):
			return fmt.Errorf("%s: commit %s: %w", p.name, tx, errDecided)
		case p.prepared != tx:
			return fmt.Errorf("%s: commit %s: not prepared", p.name, tx)
		}
		p.prepared = ""
		p.committed = append(p.committed, tx)
		return nil
	})
}

// abort drops tx. A transaction never prepared here is recorded as aborted
// too, so that a late prepare of it is refused.
func (p *participant) abort(tx string, token uint64) error {
	return p.fence.Do(token, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case slices.Contains(p.committed, tx):
			return fmt.Errorf("%s: abort %s: %w", p.name, tx, errDecided)
		case slices.Contains(p.aborted, tx):
			return nil
		case p.prepared == tx:
			p.prepared = ""
		}
		p.aborted = append(p.aborted, tx)
		return nil
	})
}

// inDoubt returns the transaction prepared here and not yet decided, or "".
// It is fenced like every other message: a new lock holder asks it first,
// which also shuts the previous holder's late messages out.
func (p *participant) inDoubt(token uint64) (string, error) {
	var tx string
	err := p.fence.Do(token, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		tx = p.prepared
		return nil
	})
	return tx, err
}

// state returns what the participant has committed and what is in doubt.
func (p *participant) state() (committed []string, inDoubt string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.committed), p.prepared
}

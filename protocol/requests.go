package protocol

// The proposer's request API: Acquire, Cancel, Release, Abandon and what a
// node may ask about its own claims (Holding, Pending).

import (
	"fmt"
	"time"
)

// AcquireRequest asks the machine for a tenure of one lease name.
type AcquireRequest struct {
	Name string
	// TTL is T, the acceptors' exclusion; zero means Config.DefaultTTL.
	TTL time.Duration
	// Value is stored with the lease at the acceptors (at most MaxValueLen).
	Value []byte
	// LockDelay keeps the name blocked this much longer after the tenure
	// ends by expiry (not by release). At most MaxTTL.
	LockDelay time.Duration
	// Wait keeps trying until the request succeeds or is cancelled; without
	// it the request makes one round (a few tries against contention) and
	// fails with ErrHeld if another node holds the lease.
	Wait bool
}

// Acquire starts a request for a tenure. Events report the outcome. It fails
// at once for an invalid request, for a name this node already has a request
// or a tenure for (ErrBusy), and once tokens are exhausted.
func (m *Machine) Acquire(now Time, req AcquireRequest) error {
	if m.stopped {
		return ErrStopped
	}
	if err := checkName(req.Name); err != nil {
		return err
	}
	if req.TTL == 0 {
		req.TTL = m.cfg.DefaultTTL
	}
	if req.TTL < m.cfg.MinTTL || req.TTL > m.cfg.MaxTTL {
		return fmt.Errorf("%w: %v not in [%v, %v]", ErrBadTTL, req.TTL, m.cfg.MinTTL, m.cfg.MaxTTL)
	}
	if req.LockDelay < 0 || req.LockDelay > m.cfg.MaxTTL {
		return fmt.Errorf("%w: lock delay %v not in [0, %v]", ErrBadTTL, req.LockDelay, m.cfg.MaxTTL)
	}
	if len(req.Value) > MaxValueLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrValueTooLarge, len(req.Value), MaxValueLen)
	}
	if m.tokensExhausted {
		return ErrTokensExhausted
	}
	if _, busy := m.claims[req.Name]; busy {
		return fmt.Errorf("%w: %q", ErrBusy, req.Name)
	}
	l := &claim{
		name:      req.Name,
		wait:      req.Wait,
		ttl:       req.TTL,
		dp:        m.attemptDuration(req.TTL),
		margin:    m.cfg.margin(req.TTL),
		lockDelay: req.LockDelay,
		value:     append([]byte(nil), req.Value...),
		backoff:   m.cfg.BackoffMin,
	}
	m.claims[req.Name] = l
	m.startAttempt(now, l)
	m.drainLocal(now)
	return nil
}

// Cancel withdraws a pending acquire request that has no tenure yet. A
// Propose already sent is cleaned up with a Release of its exact ballot,
// which is safe: this node never acted under it.
func (m *Machine) Cancel(now Time, name string) {
	l := m.claims[name]
	if m.stopped || l == nil || l.held() {
		return
	}
	if l.stage == stageProposing {
		m.releaseFailed(now, l)
	}
	m.dropClaim(l)
	m.drainLocal(now)
}

// Release ends the tenure with this token: the tenure is over for this node
// at once (EventReleased), then Release(owner, ballot) goes to the voters
// (R10).
func (m *Machine) Release(now Time, name string, token uint64) error {
	l, err := m.endTenure(name, token)
	if err != nil {
		return err
	}
	m.queueRelease(now, name, l.ballot)
	m.drainLocal(now)
	return nil
}

// Abandon ends the tenure with this token without telling the voters: the
// lease stays blocked until it expires there, as if this node had crashed.
func (m *Machine) Abandon(now Time, name string, token uint64) error {
	_, err := m.endTenure(name, token)
	return err
}

// endTenure ends this node's tenure of name with token, at the user's
// request: EventReleased, and the claim is dropped.
func (m *Machine) endTenure(name string, token uint64) (*claim, error) {
	if m.stopped {
		return nil, ErrStopped
	}
	l := m.claims[name]
	if l == nil || !l.held() || l.ballot.Token() != token {
		return nil, fmt.Errorf("%w: %q token %d", ErrNotHeld, name, token)
	}
	m.emit(Event{Kind: EventReleased, Name: name, Token: token, TTL: l.ttl})
	m.dropClaim(l)
	return l, nil
}

// Holding reports this node's own tenure of name, if any: its token and its
// usable deadline on the local clock. Only the holder knows (R14); this is
// that knowledge.
func (m *Machine) Holding(name string) (token uint64, deadline Time, ok bool) {
	l := m.claims[name]
	if m.stopped || l == nil || !l.held() {
		return 0, 0, false
	}
	return l.ballot.Token(), l.deadline, true
}

// Pending reports whether an acquire request for name is in progress.
func (m *Machine) Pending(name string) bool {
	l := m.claims[name]
	return l != nil && !l.held()
}

// attemptDuration is Config.AttemptDuration, remembered per TTL: the exact
// containment check is too costly to repeat on every acquire.
func (m *Machine) attemptDuration(ttl time.Duration) time.Duration {
	if dp, ok := m.dpCache[ttl]; ok {
		return dp
	}
	dp := m.cfg.AttemptDuration(ttl)
	if len(m.dpCache) < 64 {
		m.dpCache[ttl] = dp
	}
	return dp
}

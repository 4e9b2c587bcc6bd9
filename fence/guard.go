package fence

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Guard keeps, per lease name, the highest fencing token admitted, and admits
// a call only if its token is not lower. It is safe for concurrent use. Make
// one with New or OpenFile (a zero Guard behaves as one from New); a Guard
// must not be copied after first use.
type Guard struct {
	mu    sync.Mutex       // guards slots (the map, not the slots' contents)
	slots map[string]*slot // one per name ever admitted; never removed

	store *fileStore // nil for an in-memory Guard

	// life orders admissions against Close: Do checks closed and admits
	// under a read lock, Close sets closed under the write lock, so every
	// call is either admitted before Close began or refused with ErrClosed,
	// a call that was waiting for its name's lock included.
	life   sync.RWMutex
	closed atomic.Bool // written under life; read without it only to fail fast

	// lockWait, if set, is called by Do after its first check of closed and
	// just before it waits for the name's lock. Tests only.
	lockWait func(name string)
}

// slot is the state of one lease name. Its lock is held across the check, the
// write to disk and the caller's operation, which is what orders operations
// of one name; highest is atomic only so that Highest never waits for an
// operation in progress.
type slot struct {
	mu      sync.Mutex
	highest atomic.Uint64 // 0: nothing admitted yet; written only under mu
}

// New returns an empty in-memory Guard. Its state is lost when the process
// ends; a resource that must still refuse stale holders after a restart uses
// OpenFile.
func New() *Guard {
	return &Guard{slots: make(map[string]*slot)}
}

// Admit checks token against the highest token admitted for name and, if it
// is not lower, records it. It returns a *StaleError (matching ErrStale) for a
// lower token, ErrNoToken for token 0, ErrBadName for an invalid name, and for
// a Guard from OpenFile, ErrPersist if a higher token could not be written.
//
// Admit alone does not order what the caller does next: two callers can both
// be admitted, the newer first, and then act in the opposite order, so the
// stale write lands last. Use Do when the operation follows the check.
func (g *Guard) Admit(name string, token uint64) error {
	return g.Do(name, token, nil)
}

// Do admits token as Admit does and then, only if it was admitted, runs op
// while still holding the lock of name, and returns op's error unchanged.
//
// name must be the lease name that protects the resource op acts on, as the
// resource itself knows it: its own configuration, or a fixed function of
// what op writes (the key, the route). Never take it from the caller's
// message as is: a caller with a stale token for "db" that may pick the
// name gets admitted under "DB", "db#0" or another byte spelling whose
// highest token is lower, since each of those is a lease name of its own.
// Resource binds a name once so the calls cannot get it wrong.
//
// Holding the lock makes check and act one step. Without it, a holder with
// token 7 could be admitted, stall, and apply its write after the holder with
// token 8 was admitted and applied: the stale write would win. With it, the
// operations of one name run one at a time in non-decreasing token order.
// Operations of different names run in parallel.
//
// The token is recorded (and, for a Guard from OpenFile, written to disk)
// before op runs and stays recorded if op fails: a token proves that every
// lower tenure has ended, whatever became of the operation. op must not call
// Do or Admit for the same name, which would deadlock; op may be nil.
func (g *Guard) Do(name string, token uint64, op func() error) error {
	if err := checkCall(name, token); err != nil {
		return err
	}
	if g.closed.Load() {
		return ErrClosed
	}
	s := g.slot(name)
	if g.lockWait != nil {
		g.lockWait(name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := g.admitOpen(name, s, token); err != nil {
		return err
	}
	if op == nil {
		return nil
	}
	return op()
}

// Highest returns the highest token admitted for name, and false if none has
// been. The answer may be out of date as soon as it returns; it is for
// reporting, not for deciding (deciding is Admit's and Do's job).
func (g *Guard) Highest(name string) (uint64, bool) {
	g.mu.Lock()
	s := g.slots[name]
	g.mu.Unlock()
	if s == nil {
		return 0, false
	}
	h := s.highest.Load()
	return h, h != 0
}

// Close stops the Guard: every call of Admit and Do not admitted before
// Close began returns ErrClosed and runs nothing, including a call that was
// waiting for its name's lock behind a running operation. Operations
// admitted before it may still be running when it returns: Close does not
// wait for them (a token they raised is already on disk). Closing twice is
// harmless.
func (g *Guard) Close() error {
	g.life.Lock()
	g.closed.Store(true)
	g.life.Unlock()
	if g.store != nil {
		g.store.close()
	}
	return nil
}

// slot returns the slot of name, creating it if needed.
func (g *Guard) slot(name string) *slot {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.slots == nil {
		g.slots = make(map[string]*slot)
	}
	s := g.slots[name]
	if s == nil {
		s = &slot{}
		g.slots[name] = s
	}
	return s
}

// admitOpen admits token unless the Guard is closed; the caller holds s.mu.
// Checking closed again here, under life, is what refuses a call that
// waited for s.mu while Close ran.
func (g *Guard) admitOpen(name string, s *slot, token uint64) error {
	g.life.RLock()
	defer g.life.RUnlock()
	if g.closed.Load() {
		return ErrClosed
	}
	return g.admitLocked(name, s, token)
}

// admitLocked is the check itself; the caller holds s.mu. A higher token is
// written to disk before it is recorded in memory, so nothing is ever admitted
// on the strength of a token a restart would forget.
func (g *Guard) admitLocked(name string, s *slot, token uint64) error {
	h := s.highest.Load()
	if token < h {
		return &StaleError{Name: name, Token: token, Highest: h}
	}
	if token == h {
		return nil
	}
	if g.store != nil {
		if err := g.store.raise(name, token); err != nil {
			return fmt.Errorf("%w: lease %q token %d: %w", ErrPersist, name, token, err)
		}
	}
	s.highest.Store(token)
	return nil
}

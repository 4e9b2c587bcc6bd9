package fence

import (
	"errors"
	"fmt"
)

// Sentinel errors of the fence package. Callers match them with errors.Is;
// the returned errors wrap them with the name and token involved.
var (
	// ErrStale means the token is lower than the highest token already
	// admitted for the name: the caller's tenure has ended and a later one
	// has acted. The returned error is a *StaleError.
	ErrStale = errors.New("fence: stale token")
	// ErrNoToken means the token is 0. No tenure has token 0, so a zero is a
	// missing token, and admitting it would let any caller through.
	ErrNoToken = errors.New("fence: missing fencing token")
	// ErrBadName means a lease name is empty, longer than MaxNameLen bytes,
	// not valid UTF-8, or contains a control character.
	ErrBadName = errors.New("fence: invalid lease name")
	// ErrWrongName means a request names a lease (in its Lease-Name header)
	// other than the one that protects the resource it addresses. Lease
	// names are compared byte for byte: "DB", "db#0" and the NFD spelling
	// of "café" are leases of their own, with tokens of their own, so a
	// token of one proves nothing about another.
	ErrWrongName = errors.New("fence: lease name does not protect this resource")
	// ErrBadRequest means a request's fencing headers are missing, repeated
	// or malformed, or the route named no protected resource.
	ErrBadRequest = errors.New("fence: bad fencing request")
	// ErrCorrupt means OpenFile found a file it cannot trust. The Guard
	// refuses to start rather than start empty, because starting empty would
	// admit every stale holder it refused before.
	ErrCorrupt = errors.New("fence: corrupt token file")
	// ErrPersist means a higher token could not be written to disk. The token
	// was not admitted and the operation did not run; a later call may retry.
	ErrPersist = errors.New("fence: cannot persist token")
	// ErrClosed means the Guard was closed.
	ErrClosed = errors.New("fence: guard closed")
)

// StaleError is the error Admit and Do return for a stale token. It carries
// the highest token admitted at the moment of the refusal, so a caller (the
// HTTP middleware, say) can report it without reading the Guard again, which
// would race with later admissions.
type StaleError struct {
	// Name is the lease name.
	Name string
	// Token is the refused token.
	Token uint64
	// Highest is the highest token admitted for Name; Token < Highest.
	Highest uint64
}

// Error describes the refusal.
func (e *StaleError) Error() string {
	return fmt.Sprintf("%v: lease %q token %d is below highest admitted %d",
		ErrStale, e.Name, e.Token, e.Highest)
}

// Unwrap returns ErrStale, so errors.Is(err, ErrStale) holds.
func (e *StaleError) Unwrap() error { return ErrStale }

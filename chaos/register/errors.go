package register

import "errors"

// Sentinel errors of the register package; returned errors wrap them.
var (
	// ErrCorrupt means the value file exists but cannot be read back
	// exactly. Open refuses to start rather than start empty, which would
	// silently lose acknowledged writes.
	ErrCorrupt = errors.New("register: corrupt value file")
	// ErrPersist means a value could not be written to disk; it was not
	// applied in memory either.
	ErrPersist = errors.New("register: cannot persist value")
	// ErrClosed means the register was closed.
	ErrClosed = errors.New("register: closed")
)

package protocol

import "errors"

// Sentinel errors of the protocol package. Callers match them with errors.Is.
var (
	// ErrConfig wraps every configuration error; the message names the field.
	ErrConfig = errors.New("protocol: invalid config")
	// ErrBadName means a lease name is empty, longer than MaxNameLen or not
	// printable UTF-8.
	ErrBadName = errors.New("protocol: invalid lease name")
	// ErrBadTTL means a requested TTL is outside [MinTTL, MaxTTL].
	ErrBadTTL = errors.New("protocol: TTL out of range")
	// ErrValueTooLarge means a lease value is longer than MaxValueLen.
	ErrValueTooLarge = errors.New("protocol: lease value too large")
	// ErrBusy means this node already has a request or a tenure for the name.
	ErrBusy = errors.New("protocol: lease name already in use on this node")
	// ErrNotHeld means a release named a tenure this node does not hold.
	ErrNotHeld = errors.New("protocol: tenure not held")
	// ErrHeld means a live lease blocks the request (a TryAcquire failed):
	// another node's, or a leftover of this node's own earlier attempt or
	// tenure, which no fresh acquire may take over (R7).
	ErrHeld = errors.New("protocol: lease held")
	// ErrContended means a TryAcquire lost its round to a competing proposer
	// or ran out of time without a majority.
	ErrContended = errors.New("protocol: round lost to contention")
	// ErrLost means a tenure ended because it could not be renewed in time.
	ErrLost = errors.New("protocol: lease lost")
	// ErrTokensExhausted means this node has used every era: it can no
	// longer produce increasing fencing tokens and refuses to propose.
	ErrTokensExhausted = errors.New("protocol: fencing tokens exhausted")
	// ErrStopped means the machine was shut down.
	ErrStopped = errors.New("protocol: stopped")
	// ErrNoQuorum means a query got answers from fewer than a majority of
	// voters before it gave up.
	ErrNoQuorum = errors.New("protocol: no majority of voters answered")
	// ErrInvariant means CheckInvariants found a broken local invariant: a
	// bug in this package, never a fault of the network or the peers.
	ErrInvariant = errors.New("protocol: invariant broken")
)

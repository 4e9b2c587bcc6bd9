package node

import "errors"

// Sentinel errors of the node package. Callers match them with errors.Is;
// the node wraps them with detail (who holds a lease, which field is wrong).
var (
	// ErrConfig wraps every configuration error New refuses; the message
	// names the Config field at fault.
	ErrConfig = errors.New("node: invalid config")
	// ErrHeld means another node, or another caller on this node, holds the
	// lease: TryAcquire gave up without a tenure.
	ErrHeld = errors.New("node: lease held by another holder")
	// ErrContended means TryAcquire lost its rounds to competing proposers
	// while a majority of voters answered. When too few answered, the
	// error is an *UnavailableError instead (ErrNoQuorum). Trying again
	// later may succeed.
	ErrContended = errors.New("node: acquire lost to contention")
	// ErrNoHolder means a majority of voters know of no live lease under the
	// name (Holder).
	ErrNoHolder = errors.New("node: no holder")
	// ErrNoQuorum means fewer than a majority of voters answered: a Holder
	// query gave up (and none of those that answered knew a holder), or
	// a TryAcquire failed, or an Acquire's ctx ended, with too few answers.
	// The error is then an *UnavailableError with the counts ("no quorum:
	// 1 of 3 voters answered"). It matches ErrUnavailable too.
	ErrNoQuorum = errors.New("node: no majority of voters answered")
	// ErrUnavailable matches every *UnavailableError: the cluster could
	// not serve a request because too few voters answered, whatever the
	// reason (ErrNoQuorum, ErrQuarantined, a config mismatch).
	ErrUnavailable = errors.New("node: unavailable")
	// ErrQuarantined matches an *UnavailableError whose reason is this
	// node's own quarantine (R9) or start verification (R18): it is a
	// voter that does not answer as an acceptor yet, and too few others
	// answered.
	ErrQuarantined = errors.New("node: quarantined")
	// ErrLost means a tenure ended because it could not be renewed before
	// its deadline. The holder must have stopped acting by Deadline().
	ErrLost = errors.New("node: lease lost")
	// ErrReleased means the tenure ended because its holder released or
	// abandoned it.
	ErrReleased = errors.New("node: lease released")
	// ErrClosed means the node was shut down or left the cluster: no new
	// request is taken, and every tenure it held has ended.
	ErrClosed = errors.New("node: closed")
	// ErrStorage means the data dir could not be read or written. A node
	// that cannot make its era floor durable stops (R12): it never sends a
	// message that depends on an era it could not persist.
	ErrStorage = errors.New("node: data dir")
	// ErrDataDirInUse means another process (or another Node in this
	// process) holds the lock of Config.DataDir (R18): two processes must
	// never share a data dir, or both would vote with one identity.
	ErrDataDirInUse = errors.New("node: data dir in use")
	// ErrDuplicateName means a live process with this node's name is
	// already a member of the cluster (R18): New refuses to run a second
	// one, which would vote under the same name. The message names the
	// name and both addresses. If the other process is gone, start again
	// once gossip has noticed (a few seconds; see Config.Name).
	ErrDuplicateName = errors.New("node: name already in use in the cluster")
	// ErrBadName means a lease name is empty, longer than
	// protocol.MaxNameLen or not printable UTF-8. It also matches
	// protocol.ErrBadName.
	ErrBadName = errors.New("node: invalid lease name")
	// ErrBadTTL means a requested TTL or lock delay is out of range
	// (WithTTL, WithLockDelay). It also matches protocol.ErrBadTTL.
	ErrBadTTL = errors.New("node: TTL out of range")
	// ErrValueTooLarge means a lease value is longer than
	// protocol.MaxValueLen (WithValue). It also matches
	// protocol.ErrValueTooLarge.
	ErrValueTooLarge = errors.New("node: lease value too large")
	// ErrTokensExhausted means this node has used every era: it can no
	// longer produce increasing fencing tokens and refuses to propose
	// (R12). It also matches protocol.ErrTokensExhausted.
	ErrTokensExhausted = errors.New("node: fencing tokens exhausted")
	// ErrMembership means a voter list asked of Reconfigure is malformed:
	// empty, a duplicate or blank name, a name too long, too many voters.
	// Nothing changed. It also matches protocol.ErrMembership.
	ErrMembership = errors.New("node: invalid voter list")
	// ErrConfigChanged means the voter configuration is not the one a
	// Reconfigure was planned from: another change came first (or is
	// under way towards other voters). Read Voters and plan again. It also
	// matches protocol.ErrConfigChanged.
	ErrConfigChanged = errors.New("node: voter configuration changed meanwhile")
	// ErrReconfiguring means this node already drives a voter change;
	// wait for it to end. It also matches protocol.ErrReconfiguring.
	ErrReconfiguring = errors.New("node: a voter change is already under way on this node")
)

// sentinelError gives a protocol error a node sentinel as well: it keeps
// the protocol error's message and matches both with errors.Is.
type sentinelError struct {
	sentinel error // the node's
	err      error // the protocol's, with its detail
}

func (e *sentinelError) Error() string   { return e.err.Error() }
func (e *sentinelError) Unwrap() []error { return []error{e.sentinel, e.err} }

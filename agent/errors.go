package agent

import "errors"

// Sentinel errors of the agent package.
var (
	// ErrConfig wraps every configuration error New refuses; the message
	// names the Config field at fault.
	ErrConfig = errors.New("agent: invalid config")
	// ErrClosed means the agent is shutting down and takes no new request.
	ErrClosed = errors.New("agent: closed")
	// ErrHeld means another holder has the lease: the client's acquire
	// gave up (HTTP 409).
	ErrHeld = errors.New("agent: lease held")
	// ErrGone means the tenure a request named is over (HTTP 410).
	ErrGone = errors.New("agent: tenure over")
	// ErrUnauthorized means the agent refused the bearer token (HTTP 401).
	ErrUnauthorized = errors.New("agent: unauthorized")
)

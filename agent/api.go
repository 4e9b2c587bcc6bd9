package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration that travels in JSON as a Go duration string
// ("5s", "250ms").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler; it accepts only a duration
// string, so that "5" is never silently read as five nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"5s\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Token is a fencing token in JSON. It marshals as a number; it unmarshals
// from a number or from a decimal string, because tokens exceed 2^53 and
// JavaScript clients round large numbers.
type Token uint64

// UnmarshalJSON implements json.Unmarshaler.
func (t *Token) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("token %s is not an unsigned 64-bit integer", b)
	}
	*t = Token(v)
	return nil
}

// AcquireRequest is the body of POST /v1/leases/{name}. Every field is
// optional; an empty body asks for the agent's default TTL without waiting.
type AcquireRequest struct {
	// TTL is the lease TTL; zero means the agent's default.
	TTL Duration `json:"ttl,omitempty"`
	// Wait is how long to wait for a holder to go away; zero tries once.
	Wait Duration `json:"wait,omitempty"`
	// Value is stored with the lease for holder queries to read (at most
	// 512 bytes).
	Value string `json:"value,omitempty"`
	// Hold makes the response a stream of events that lasts as long as the
	// tenure; closing the connection releases the lease.
	Hold bool `json:"hold,omitempty"`
	// Slots, if positive, makes the lease a semaphore of that many slots:
	// the agent takes any free slot, a lease of its own named
	// "NAME#i" with its own token. The answer's name says which slot; use
	// it (URL-encoded: %23 for #) for keepalives and the release.
	Slots int `json:"slots,omitempty"`
}

// KeepaliveRequest is the body of POST /v1/leases/{name}/keepalive.
type KeepaliveRequest struct {
	// Token names the tenure to keep alive, as a number or a string.
	Token Token `json:"token"`
}

// Grant describes a tenure held through the agent: the answer to an
// acquire and to a keepalive, an element of GET /v1/leases, and (with
// Event set) an event of a hold stream.
type Grant struct {
	// Event is set only in hold streams: "acquired", "renewed", "lost" or
	// "released".
	Event string `json:"event,omitempty"`
	// Name is the lease name.
	Name string `json:"name"`
	// Token is the fencing token of the tenure.
	Token uint64 `json:"token"`
	// TokenStr is Token in decimal, for clients whose numbers are doubles.
	TokenStr string `json:"token_str"`
	// TTL is the lease TTL.
	TTL Duration `json:"ttl"`
	// DeadlineMS is how many milliseconds after the agent wrote this answer
	// the holder must have stopped acting (rounded down). Clients add it to
	// the instant they sent their request. Zero in "lost" and "released".
	DeadlineMS int64 `json:"deadline_ms"`
	// Mode is "keepalive" or "hold" (GET /v1/leases only).
	Mode string `json:"mode,omitempty"`
	// Error says why a tenure ended ("lost" and "released" events only).
	Error string `json:"error,omitempty"`
}

// HolderHint is the voters' view of who holds a lease: a hint (R14), stale
// by the time it arrives.
type HolderHint struct {
	// Name is the lease name.
	Name string `json:"name,omitempty"`
	// Node is the holder's node name.
	Node string `json:"node"`
	// Token is the holder's fencing token; TokenStr the same in decimal.
	Token    uint64 `json:"token"`
	TokenStr string `json:"token_str"`
	// Value is what the holder stored with the lease.
	Value string `json:"value,omitempty"`
	// RemainingMS is how long the answering voter meant to keep the lease
	// exclusive when it answered.
	RemainingMS int64 `json:"remaining_ms"`
	// Hint is always true: this is not knowledge.
	Hint bool `json:"hint"`
	// Vacant is set in watch streams when no tenure is known (Node empty).
	Vacant bool `json:"vacant,omitempty"`
}

// ErrorResponse is the body of every 4xx and 5xx answer.
type ErrorResponse struct {
	// Error says what went wrong; for a refused acquire it is "held".
	Error string `json:"error"`
	// Holder is the voters' hint of who holds the lease (409 on acquire
	// only; null if the voters could not say).
	Holder *HolderHint `json:"holder,omitempty"`
}

// Member is one element of GET /v1/members.
type Member struct {
	// Name is the node name.
	Name string `json:"name"`
	// Addr is its gossip address, empty if unknown.
	Addr string `json:"addr,omitempty"`
	// Voter reports whether the node is in the configured voter list.
	Voter bool `json:"voter"`
	// Alive reports whether gossip currently knows the node as alive (a
	// hint: gossip decides no quorum, R1).
	Alive bool `json:"alive"`
}

// Quorum summarises the voters as gossip sees them.
type Quorum struct {
	// Voters is the size of the configured voter list.
	Voters int `json:"voters"`
	// Alive is how many of them gossip knows as alive.
	Alive int `json:"alive"`
	// Majority reports whether Alive is a strict majority of Voters: leases
	// can probably be granted.
	Majority bool `json:"majority"`
}

// Members is the body of GET /v1/members.
type Members struct {
	// Self is this agent's node name.
	Self string `json:"self"`
	// Members lists live members and configured voters, sorted by name.
	Members []Member `json:"members"`
	// Quorum is the voter quorum state.
	Quorum Quorum `json:"quorum"`
}

// Leases is the body of GET /v1/leases.
type Leases struct {
	// Leases lists the tenures held through this agent, sorted by name.
	Leases []Grant `json:"leases"`
}

package check

import (
	"encoding/json"
	"fmt"
	"os"
)

// Kind is the kind of an Op. Values start at 1 so the zero value is invalid.
type Kind int

// The operation kinds.
const (
	// Acquire asks an agent for a lease.
	Acquire Kind = 1 + iota
	// KeepAlive extends a tenure through its agent.
	KeepAlive
	// Release gives a tenure back through its agent.
	Release
	// Read reads a key of the register.
	Read
	// Write writes a key of the register with a fencing token.
	Write
)

var kindNames = map[Kind]string{Acquire: "acquire", KeepAlive: "keepalive", Release: "release", Read: "read", Write: "write"}

// String names the kind.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MarshalText writes the kind's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for v, s := range kindNames {
		if s == string(b) {
			*k = v
			return nil
		}
	}
	return fmt.Errorf("check: unknown op kind %q", b)
}

// Outcome is what the client learned of an Op.
type Outcome int

// The outcomes.
const (
	// Ok means the operation took effect: a grant, a read value, an
	// accepted write.
	Ok Outcome = 1 + iota
	// Fail means it definitely did not take effect: a 409 from the agent,
	// a write refused as stale, a 400.
	Fail
	// Unknown means the client cannot tell: a timeout, a broken connection,
	// a 5xx. A write may or may not have taken effect.
	Unknown
)

var outcomeNames = map[Outcome]string{Ok: "ok", Fail: "fail", Unknown: "unknown"}

// String names the outcome.
func (o Outcome) String() string {
	if s, ok := outcomeNames[o]; ok {
		return s
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// MarshalText writes the outcome's name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads an outcome's name.
func (o *Outcome) UnmarshalText(b []byte) error {
	for v, s := range outcomeNames {
		if s == string(b) {
			*o = v
			return nil
		}
	}
	return fmt.Errorf("check: unknown outcome %q", b)
}

// Op is one client operation, as the client saw it.
type Op struct {
	// Client numbers the client, 0-based; final reads use their own number.
	Client int `json:"client"`
	// Agent names the agent the client talks to ("" for final reads).
	Agent string `json:"agent,omitempty"`
	// Kind is the operation.
	Kind Kind `json:"kind"`
	// Key is the lease name and register key.
	Key string `json:"key"`
	// Start is when the request was sent, End when the answer arrived (or
	// the client gave up), in nanoseconds since the run's origin.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Outcome is what the client learned.
	Outcome Outcome `json:"outcome"`
	// Token is the granted token (Acquire, KeepAlive), the token sent
	// (Write, Release) or the token of the value read (Read).
	Token uint64 `json:"token,string,omitempty"`
	// DeadlineMS is the agent's deadline_ms for a granted Acquire or
	// KeepAlive: the client's tenure lasts until Start + DeadlineMS.
	DeadlineMS int64 `json:"deadline_ms,omitempty"`
	// Value is the value written or read.
	Value string `json:"value,omitempty"`
	// Stale marks a Write refused with 409 as stale.
	Stale bool `json:"stale,omitempty"`
	// Zombie marks a Write the client sent on purpose after its own
	// deadline, as a holder stalled by a GC pause would.
	Zombie bool `json:"zombie,omitempty"`
	// Final marks the reads made after the run, against a restarted
	// register.
	Final bool `json:"final,omitempty"`
	// Err is the error or status the client saw, for the record.
	Err string `json:"err,omitempty"`
}

// History is a whole run's record.
type History struct {
	// Seed is the run's seed.
	Seed int64 `json:"seed"`
	// Ops are the clients' operations, in any order.
	Ops []Op `json:"ops"`
	// Cut is the instant after which no operation of the run can take
	// effect (the register was killed and restarted); Unknown writes are
	// treated as possibly in effect until then. 0 means the latest End.
	Cut int64 `json:"cut"`
	// Faults are the nemesis's actions, for the visualisation.
	Faults []Fault `json:"faults,omitempty"`
}

// Fault is one nemesis action over an interval.
type Fault struct {
	// Kind names the fault ("partition", "kill", ...).
	Kind string `json:"kind"`
	// Detail says whom it hit.
	Detail string `json:"detail"`
	// Start and End bound it, on the history's clock.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// cut returns h.Cut, or one past the latest End.
func (h *History) cut() int64 {
	if h.Cut != 0 {
		return h.Cut
	}
	var m int64
	for _, op := range h.Ops {
		m = max(m, op.End)
	}
	return m + 1
}

// WriteJSON writes h to path, indented.
func (h *History) WriteJSON(path string) error {
	b, err := json.MarshalIndent(h, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// ReadJSON reads a history written by WriteJSON.
func ReadJSON(path string) (*History, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var h History
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("check: %s: %w", path, err)
	}
	return &h, nil
}

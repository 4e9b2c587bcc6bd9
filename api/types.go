package api

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

// MaxNumberToken is the largest token a request may send as a JSON
// number: 2^53 - 1, the largest integer every JSON library reads exactly.
// A larger number may have been rounded on its way (2^53 + 1 becomes 2^53
// in a double), so it is refused; send tokens as decimal strings.
const MaxNumberToken = 1<<53 - 1

// Token is a fencing token on the wire: a JSON string of the decimal
// uint64 (tokens exceed 2^53, where JSON numbers lose precision in many
// languages). Decoding accepts such a string, or a JSON number written as
// plain digits no larger than MaxNumberToken.
type Token uint64

// MarshalJSON implements json.Marshaler: a decimal string.
func (t Token) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatUint(uint64(t), 10)), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Token) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("token %q is not an unsigned 64-bit integer in decimal", s)
		}
		*t = Token(v)
		return nil
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	switch {
	case err != nil:
		return fmt.Errorf("token %s is not an unsigned 64-bit integer in digits (send tokens as decimal strings)", b)
	case v > MaxNumberToken:
		return fmt.Errorf("token %s sent as a JSON number above 2^53-1 may have been rounded; send it as a string: \"%s\"", b, b)
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
	// tenure. Closing the connection ends it: the agent frees the lease
	// once the last deadline the stream told has passed.
	Hold bool `json:"hold,omitempty"`
	// Slots, if positive, makes the lease a semaphore of that many slots:
	// the agent takes any free slot, a lease of its own named
	// "NAME#i" with its own token. The answer's name says which slot; use
	// it (URL-encoded: %23 for #) for keepalives and the release.
	Slots int `json:"slots,omitempty"`
}

// KeepaliveRequest is the body of POST /v1/leases/{name}/keepalive.
type KeepaliveRequest struct {
	// Token names the tenure to keep alive: a decimal string (or a JSON
	// number no larger than MaxNumberToken).
	Token Token `json:"token"`
	// LeaseKey is the acquire answer's lease_key. It may come here or in
	// the Tenure-Lease-Key header; without it the agent answers 403.
	LeaseKey string `json:"lease_key,omitempty"`
}

// LeaseKeyHeader is the request header that carries a tenure's lease key
// on keepalive and DELETE.
const LeaseKeyHeader = "Tenure-Lease-Key"

// Grant describes a tenure held through the agent: the answer to an
// acquire and to a keepalive, an element of GET /v1/leases, and (with
// Event set) an event of a hold stream.
type Grant struct {
	// Event is set only in hold streams: "acquired", "renewed", then one
	// of "lost", "released" or "stopping" (the agent is shutting down:
	// the tenure is neither renewed nor released by it any more, and stays
	// the client's until its last deadline).
	Event string `json:"event,omitempty"`
	// Name is the lease name.
	Name string `json:"name"`
	// Token is the fencing token of the tenure; on the wire a decimal
	// string.
	Token uint64 `json:"token,string"`
	// TokenStr is Token in decimal too, kept for clients written before
	// "token" became a string.
	TokenStr string `json:"token_str"`
	// LeaseKey is the tenure's secret: proof of holding it, which keepalive
	// and DELETE require. Only the answer to the acquire (the "acquired"
	// event in hold mode) carries it; no listing ever does.
	LeaseKey string `json:"lease_key,omitempty"`
	// TTL is the lease TTL.
	TTL Duration `json:"ttl"`
	// DeadlineMS is how long the holder may act: the client's deadline is
	// the instant it SENT the request this answers (for hold-stream events,
	// the stream's acquire request) plus DeadlineMS, by its own clock, the
	// largest over its answers (R16; see the package documentation). Zero
	// in "lost" and "released"; in "stopping" it repeats the last value.
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
	// Token is the holder's fencing token (a decimal string on the
	// wire); TokenStr the same, kept for older clients.
	Token    uint64 `json:"token,string"`
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
	// Mismatch reports that the member runs another cluster ID or voter
	// list (R17): each side refuses the other's datagrams. Cluster and
	// Voters say what it runs (Voters empty if it did not fit in its
	// gossip metadata).
	Mismatch bool   `json:"mismatch,omitempty"`
	Cluster  string `json:"cluster,omitempty"`
	Voters   string `json:"voters,omitempty"`
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
	// Node is this agent's own node: its configuration and start.
	Node NodeState `json:"node"`
}

// NodeState is what a node says about its own configuration and start.
type NodeState struct {
	// Cluster is the cluster ID and Voters the sorted voter list this node
	// runs (R17).
	Cluster string `json:"cluster"`
	Voters  string `json:"voters"`
	// Quarantined reports that this voter answers no Prepare, Propose or
	// Release yet (R9, R18); QuarantineLeftMS is how long it has to go.
	Quarantined      bool  `json:"quarantined"`
	QuarantineLeftMS int64 `json:"quarantine_left_ms,omitempty"`
	// Verifying reports that its start waits for the other voters to
	// confirm it is not a stale copy of its data dir; StaleStart that it
	// was found stale (or not confirmed) and became a crashed start (R18).
	Verifying  bool `json:"verifying,omitempty"`
	StaleStart bool `json:"stale_start,omitempty"`
	// MismatchedMembers counts members of another cluster identity and
	// DuplicateNames the conflicts over a node name seen in gossip.
	MismatchedMembers int    `json:"mismatched_members,omitempty"`
	DuplicateNames    uint64 `json:"duplicate_names,omitempty"`
}

// Readiness is the answer of GET /readyz: 200 when a majority of voters
// answers a probe and this node is out of quarantine, else 503 with the
// reason.
type Readiness struct {
	// Status is "ready", "unavailable" or "closing".
	Status string `json:"status"`
	// Error says why the agent is not ready ("no quorum: 1 of 3 voters
	// answered", "quarantined for 12.3s more (...)"); empty when ready.
	Error string `json:"error,omitempty"`
	// Node is this agent's node name.
	Node string `json:"node"`
	// Answered is how many voters answered the probe, this node included;
	// Voters lists each with its reachability.
	Answered int          `json:"answered"`
	Voters   []VoterReach `json:"voters"`
	// Quarantined is true while this voter sits out its quarantine or
	// waits for its start to be confirmed (R9, R18); QuarantineLeftMS is
	// how long it has to go.
	Quarantined      bool  `json:"quarantined"`
	QuarantineLeftMS int64 `json:"quarantine_left_ms"`
}

// VoterReach is one voter in Readiness.
type VoterReach struct {
	// Name is the voter's name; Self is true for this agent's node.
	Name string `json:"name"`
	Self bool   `json:"self,omitempty"`
	// Answered is true if it answered the probe (a voter that answers
	// after a majority did may show false).
	Answered bool `json:"answered"`
	// LastAnswerMS is how long ago it last answered any request of this
	// node, in milliseconds; -1 if never (and for this node).
	LastAnswerMS int64 `json:"last_answer_ms"`
}

// Leases is the body of GET /v1/leases.
type Leases struct {
	// Leases lists the tenures held through this agent, sorted by name.
	Leases []Grant `json:"leases"`
}

// VoterLeases is the answer of GET /v1/leases?all=1: every live lease the
// agent's node, a voter, knows of, whoever holds it. It is one voter's
// view and a hint (R14): a lease granted by a majority without this voter
// is missing, another voter may know a newer tenure, and a voter in
// quarantine may have forgotten some. Merge the views of several voters
// (tenure leases --agent A --agent B ...) for a fuller picture; never act
// on it as if it were knowledge.
type VoterLeases struct {
	// Hint is always true.
	Hint bool `json:"hint"`
	// Voter is the node whose view this is.
	Voter string `json:"voter"`
	// ObservedAt is when the voter read its view (RFC 3339, the agent's
	// clock); each lease's RemainingMS counts from then.
	ObservedAt time.Time `json:"observed_at"`
	// Quarantined is true while the voter sits out its quarantine: its
	// view may lack leases it accepted before its crash.
	Quarantined bool `json:"quarantined"`
	// Leases are sorted by name; a semaphore's slots are NAME#i.
	Leases []HolderHint `json:"leases"`
}

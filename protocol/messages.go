package protocol

import "time"

// MsgType is the one-byte type of a wire message.
//
// Wire values: ONLY APPEND. Never renumber or reuse a value; a node of an
// older version rejects a type it does not know.
type MsgType uint8

// Message types.
const (
	// TypePrepare is phase one of an acquire, proposer to acceptor.
	TypePrepare MsgType = 1 + iota
	// TypePromise answers a Prepare: open, or blocked by a live lease.
	TypePromise
	// TypeReject refuses a Prepare or Propose and carries the promise.
	TypeReject
	// TypePropose is phase two of an acquire, or a one-phase renewal.
	TypePropose
	// TypeAccepted answers a Propose that the acceptor recorded.
	TypeAccepted
	// TypeRelease asks acceptors to clear one exact tenure.
	TypeRelease
	// TypeQuery asks an acceptor who holds a lease (a hint).
	TypeQuery
	// TypeQueryReply answers a Query.
	TypeQueryReply
	// TypeVacant tells a waiting proposer that a lease was released.
	TypeVacant
	// TypeHello announces a voter's incarnation (R18).
	TypeHello
	// TypeHelloReply answers a Hello: stale or not.
	TypeHelloReply
	// TypeCfgPrepare is phase one of choosing the next voter configuration.
	TypeCfgPrepare
	// TypeCfgPromise answers a CfgPrepare.
	TypeCfgPromise
	// TypeCfgReject refuses a CfgPrepare or CfgPropose.
	TypeCfgReject
	// TypeCfgPropose is phase two of choosing the next configuration.
	TypeCfgPropose
	// TypeCfgAccepted answers a CfgPropose.
	TypeCfgAccepted
	// TypeInstall carries a committed configuration.
	TypeInstall
	// TypeInstallAck says a configuration was adopted.
	TypeInstallAck
	// TypeConfigAsk asks a peer of a newer epoch for its configuration.
	TypeConfigAsk
	typeEnd // first unused value
)

// String names the type.
func (t MsgType) String() string {
	switch t {
	case TypePrepare:
		return "prepare"
	case TypePromise:
		return "promise"
	case TypeReject:
		return "reject"
	case TypePropose:
		return "propose"
	case TypeAccepted:
		return "accepted"
	case TypeRelease:
		return "release"
	case TypeQuery:
		return "query"
	case TypeQueryReply:
		return "query-reply"
	case TypeVacant:
		return "vacant"
	case TypeHello:
		return "hello"
	case TypeHelloReply:
		return "hello-reply"
	case TypeCfgPrepare:
		return "cfg-prepare"
	case TypeCfgPromise:
		return "cfg-promise"
	case TypeCfgReject:
		return "cfg-reject"
	case TypeCfgPropose:
		return "cfg-propose"
	case TypeCfgAccepted:
		return "cfg-accepted"
	case TypeInstall:
		return "install"
	case TypeInstallAck:
		return "install-ack"
	case TypeConfigAsk:
		return "config-ask"
	}
	return "invalid"
}

// Message is one protocol message. The sender is not part of the message:
// it travels once per datagram and the receiver passes it to Step.
type Message interface {
	// Type is the wire type.
	Type() MsgType
	// Lease is the lease name the message is about.
	Lease() string
}

// Envelope is a message with its destination node.
type Envelope struct {
	To  string
	Msg Message
}

// LeaseInfo describes an accepted lease as one acceptor sees it. A zero
// Owner means "no live lease". Remaining is a duration on the acceptor's
// clock at the moment it answered (R13: durations, never instants).
type LeaseInfo struct {
	Owner     string
	Ballot    Ballot
	Remaining time.Duration
	Value     []byte
}

// Live reports whether the info describes a lease.
func (l LeaseInfo) Live() bool { return l.Owner != "" }

// Reason says why an acceptor's answer does not open the way: what a
// Promise that blocks, or a Reject, is about. The wire carries it so that a
// proposer never has to guess it from the other fields.
//
// Wire values: ONLY APPEND. A decoder refuses a value it does not know.
type Reason uint8

// The reasons.
const (
	// ReasonNone: an open Promise (the acceptor promised the ballot).
	ReasonNone Reason = iota
	// ReasonPromised: the ballot is not above the acceptor's promise (R3),
	// which the Reject carries; Holder may also report a live lease.
	ReasonPromised
	// ReasonEra: the ballot's era is below the acceptor's era floor (R12);
	// Promised carries the floor.
	ReasonEra
	// ReasonLive: a live lease is in the way (R4, R5), reported in Holder.
	ReasonLive
	// ReasonHandoff: the lease in Holder was released, and for the rest of
	// its handoff grace (Holder.Remaining) the acceptor opens only to the
	// waiter it favours (slot.go). Nothing is live; the answer blocks all
	// the same.
	ReasonHandoff
	reasonEnd // first unused value
)

// String names the reason.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonPromised:
		return "promised"
	case ReasonEra:
		return "era"
	case ReasonLive:
		return "live"
	case ReasonHandoff:
		return "handoff"
	}
	return "invalid"
}

// Blocks reports whether the reason is a lease in the way (live, or in its
// handoff grace) rather than a ballot that is too low.
func (r Reason) Blocks() bool { return r == ReasonLive || r == ReasonHandoff }

// Prepare is phase one: "promise me Ballot". Ballot.Node is the sender.
type Prepare struct {
	Name    string
	Ballot  Ballot
	Attempt uint64
}

// Promise answers a Prepare. With Reason ReasonNone it is "open": the
// acceptor promised the ballot. Otherwise (ReasonLive, ReasonHandoff) the
// acceptor reports the lease in Holder and promised nothing; that answer
// blocks the proposer (R4, R7).
type Promise struct {
	Name    string
	Attempt uint64
	Holder  LeaseInfo
	Reason  Reason
}

// Reject refuses a Prepare or a Propose, for Reason: the ballot is not above
// the promise (ReasonPromised), is below the acceptor's era floor
// (ReasonEra), or (for a Propose) a lease is in the way (ReasonLive,
// ReasonHandoff), reported in Holder. Promised lets the proposer jump past
// it (R3).
type Reject struct {
	Name     string
	Attempt  uint64
	Promised Ballot
	Holder   LeaseInfo
	Reason   Reason
}

// Propose is phase two (or a one-phase renewal): "record a lease for the
// sender under Ballot, exclusive for TTL of your clock". Ballot.Node is the
// sender. LockDelay, if positive, keeps the name blocked that much longer
// when the lease ends by expiry rather than by release. OneRound marks an
// acquire sent without a Prepare (oneround.go): the acceptor judges it as a
// Prepare and a Propose at once, which it may accept only above its
// promise and with no lease in the way, the sender's own included.
type Propose struct {
	Name      string
	Ballot    Ballot
	Attempt   uint64
	TTL       time.Duration
	LockDelay time.Duration
	Value     []byte
	OneRound  bool
}

// Accepted answers a Propose the acceptor recorded.
type Accepted struct {
	Name    string
	Attempt uint64
}

// Release asks acceptors to clear the lease with exactly this (owner, ballot)
// (R10); the owner is the sender.
type Release struct {
	Name   string
	Ballot Ballot
}

// Query asks an acceptor for its view of a lease (a hint, R14).
type Query struct {
	Name string
	ID   uint64
}

// QueryReply answers a Query; Holder is zero when the acceptor knows of no
// live lease.
type QueryReply struct {
	Name   string
	ID     uint64
	Holder LeaseInfo
}

// Vacant tells a proposer that was blocked by a lease that the lease was
// released or ran out at the sending voter, so it can try again at once
// instead of polling (notice.go). A hint (R14): it proves nothing.
type Vacant struct {
	Name string
	// Pass, in a Vacant a proposer sends back to the voter that told it,
	// says that it does not wait for Name: the voter tells its next waiter
	// at once instead of after a chain step.
	Pass bool
}

// Type implements Message.
func (*Prepare) Type() MsgType { return TypePrepare }

// Type implements Message.
func (*Promise) Type() MsgType { return TypePromise }

// Type implements Message.
func (*Reject) Type() MsgType { return TypeReject }

// Type implements Message.
func (*Propose) Type() MsgType { return TypePropose }

// Type implements Message.
func (*Accepted) Type() MsgType { return TypeAccepted }

// Type implements Message.
func (*Release) Type() MsgType { return TypeRelease }

// Type implements Message.
func (*Query) Type() MsgType { return TypeQuery }

// Type implements Message.
func (*QueryReply) Type() MsgType { return TypeQueryReply }

// Type implements Message.
func (*Vacant) Type() MsgType { return TypeVacant }

// Lease implements Message.
func (m *Prepare) Lease() string { return m.Name }

// Lease implements Message.
func (m *Promise) Lease() string { return m.Name }

// Lease implements Message.
func (m *Reject) Lease() string { return m.Name }

// Lease implements Message.
func (m *Propose) Lease() string { return m.Name }

// Lease implements Message.
func (m *Accepted) Lease() string { return m.Name }

// Lease implements Message.
func (m *Release) Lease() string { return m.Name }

// Lease implements Message.
func (m *Query) Lease() string { return m.Name }

// Lease implements Message.
func (m *QueryReply) Lease() string { return m.Name }

// Lease implements Message.
func (m *Vacant) Lease() string { return m.Name }

package protocol

import "time"

// EventKind says what an Event reports.
type EventKind int

// Event kinds. The zero value is invalid.
const (
	// EventAcquired: this node became holder of Name with Token, usable until
	// Deadline (local).
	EventAcquired EventKind = 1 + iota
	// EventRenewed: the tenure with Token was extended to Deadline.
	EventRenewed
	// EventLost: the tenure with Token ended because it could not be renewed
	// (Err is ErrLost). It is emitted no later than the tenure's deadline,
	// provided Tick is called when NextWake says.
	EventLost
	// EventReleased: the tenure with Token ended by Release or Abandon.
	EventReleased
	// EventFailed: an acquire request gave up without a tenure. Err is
	// ErrHeld (Holder says who holds it), ErrContended or ErrTokensExhausted.
	EventFailed
	// EventQuery: the answer to Query number QueryID. Holder is the hint
	// (zero when no voter knows a live lease); Err is ErrNoQuorum when too
	// few voters answered.
	EventQuery
	// EventConfig: this node adopted a newer voter configuration, Config
	// (R21): from another node, or by a change it drove.
	EventConfig
	// EventReconfigured: the outcome of Reconfigure. Config is the
	// configuration adopted when the change ended; Err is nil when it is
	// the one asked for, else ErrConfigChanged or ErrNoQuorum.
	EventReconfigured
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventAcquired:
		return "acquired"
	case EventRenewed:
		return "renewed"
	case EventLost:
		return "lost"
	case EventReleased:
		return "released"
	case EventFailed:
		return "failed"
	case EventQuery:
		return "query"
	case EventConfig:
		return "config"
	case EventReconfigured:
		return "reconfigured"
	}
	return "invalid"
}

// Event reports something the node's user must learn.
type Event struct {
	Kind     EventKind
	Name     string
	Token    uint64
	Deadline Time
	TTL      time.Duration
	Err      error
	Holder   LeaseInfo
	QueryID  uint64
	// Started is, for EventRenewed, the instant the renewal round that
	// won started (its first Propose): the driver measures renewal latency
	// from it.
	Started Time
	// Config is, for EventConfig and EventReconfigured, the voter
	// configuration.
	Config *Membership
}

// Output is what one or more inputs produced. The driver must handle it in
// this order: persist PersistEra, PersistBounds and PersistPeers (fsync) if
// set, then send
// Messages, then deliver Events. An acceptor's answer may depend on a raised
// era, so no message of an Output may leave before its era is durable (R12).
type Output struct {
	// PersistEra, if non-zero, is the new durable era floor.
	PersistEra uint32
	// PersistBounds, if not zero, are the new durable bounds (R19); like
	// the era, they are durable before any message of the Output leaves.
	PersistBounds Bounds
	// PersistPeers, if not nil, is the new durable memory of the other
	// voters' incarnations (R18), persisted like the era.
	PersistPeers []PeerIncarnation
	// PersistConfig, if not nil, is the new durable voter configuration
	// state (R21, R22), persisted like the era: an fsync per change of
	// the voters, never on the lease path.
	PersistConfig *ConfigRecord
	// Messages to send, each to one peer. Messages to this node itself never
	// appear: the machine handles them internally.
	Messages []Envelope
	// Events for the user.
	Events []Event
}

// Empty reports whether the output carries nothing.
func (o Output) Empty() bool {
	return o.PersistEra == 0 && o.PersistBounds.IsZero() && o.PersistPeers == nil && o.PersistConfig == nil &&
		len(o.Messages) == 0 && len(o.Events) == 0
}

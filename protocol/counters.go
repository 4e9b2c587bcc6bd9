package protocol

// NumMsgTypes is the size of the per-type message counters: every MsgType
// value is below it.
const NumMsgTypes = int(typeEnd)

// Counters are a machine's running totals, for metrics. Messages a node
// sends to itself are not counted.
type Counters struct {
	// Sent and Received count messages by MsgType.
	Sent, Received [NumMsgTypes]uint64
	// Rounds counts acquire rounds started; Renewals renewal rounds.
	Rounds, Renewals uint64
	// OneRounds counts the acquire rounds (among Rounds) sent as one-round
	// Proposes, without a Prepare.
	OneRounds uint64
	// Contended counts rounds lost to a competing ballot, or that reached no
	// majority before their deadline.
	Contended uint64
	// Blocked counts rounds refused because voters reported a live lease.
	Blocked uint64
	// Acquired, Lost and Released count tenures begun and ended.
	Acquired, Lost, Released uint64
	// Mismatched counts datagrams refused for another identity (R17).
	Mismatched uint64
	// Adopted counts voter configurations adopted (R21).
	Adopted uint64
	// StaleRefused counts Hellos this voter answered as stale (R18): a peer
	// that started from an older copy of its data dir, or a second process
	// with its name.
	StaleRefused uint64
}

// Counters returns the machine's running totals.
func (m *Machine) Counters() Counters { return m.counters }

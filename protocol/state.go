package protocol

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// StartKind says what a node remembers when its machine starts (R9, R12).
type StartKind int

// Start kinds. The zero value is invalid.
const (
	// StartFresh is the first start on an empty data dir: nothing can have
	// been forgotten, so no quarantine.
	StartFresh StartKind = 1 + iota
	// StartClean restores the State written at a clean shutdown: promises,
	// accepted leases and counters. No quarantine, no era bump.
	StartClean
	// StartCrashed is any other start: after a crash, or without a data dir.
	// The node moves its era to Era+1, refuses ballots of era <= Era, and
	// sits out the quarantine as an acceptor.
	StartCrashed
)

// Start tells New what the node remembers.
type Start struct {
	Kind StartKind
	// Era: for StartFresh the first era (0 means 1); for StartCrashed the
	// durable era floor read at start (with no data dir, a value that
	// usually rises, such as the wall clock in seconds).
	Era uint32
	// State is the clean-shutdown state, for StartClean.
	State *State
	// Boot is the data dir's durable start counter, raised and made
	// durable by the driver before every start; 0 without a data dir. A
	// voter that would skip the quarantine (StartFresh, StartClean) proves
	// to its peers that Boot is its newest incarnation first (R18).
	Boot uint64
	// Bounds are the persisted bounds (R19): the quarantine of a crashed
	// start covers them.
	Bounds Bounds
	// Peers are the persisted incarnations this voter heard from the other
	// voters (Output.PersistPeers), so that even after a crash it can tell
	// a peer that comes back from a stale copy (R18).
	Peers []PeerIncarnation
	// Config is the persisted voter configuration state
	// (Output.PersistConfig), nil if none was ever written: the node then
	// runs Config.Voters as epoch 0 (R21).
	Config *ConfigRecord
}

// applyStart sets the era, the quarantine and the restored state for what the
// node remembers (R9, R12), and begins the start's verification (R18).
func (m *Machine) applyStart(start Start, now Time) error {
	switch start.Kind {
	case StartFresh:
		m.era = max(start.Era, 1)
		m.out.PersistEra = m.era
		m.freshClaim = true
		m.startVerify(now, true)
	case StartCrashed:
		if start.Era == math.MaxUint32 {
			return ErrTokensExhausted
		}
		m.era = start.Era + 1
		m.rejectBelow = m.era
		m.out.PersistEra = m.era
		m.quarantineUntil = now.Add(m.crashQuarantine())
		m.quarantine = true
		m.amnesic = true
		m.startVerify(now, false)
	case StartClean:
		if start.State == nil {
			return fmt.Errorf("%w: StartClean without State", ErrConfig)
		}
		m.restore(start.State, now)
		m.startVerify(now, m.freshClaim)
	default:
		return fmt.Errorf("%w: Start.Kind %d", ErrConfig, start.Kind)
	}
	return nil
}

// StateVersion is the format version of an encoded State. ONLY APPEND.
// Version 1 did not carry the quarantine and is refused: a node that finds
// it treats the start as a crash, which is the safe reading. Version 2
// lacks Peers and the promised attempts; it is read with those empty (a
// peer then proves nothing stale, and a resent Prepare is refused and
// retried at a higher ballot: both safe).
const StateVersion = 3

// minStateVersion is the oldest State version DecodeState reads.
const minStateVersion = 2

// State is what a node writes at a clean shutdown and restores at the next
// start (R9): its promises, its accepted leases as remaining durations, and
// its proposer counters. Restored leases live for their full remaining
// duration again, which is conservative because real time passed while the
// node was down.
type State struct {
	Version     int
	Era         uint32
	Round       uint32
	Attempts    uint64
	RejectBelow uint32
	Forgotten   Ballot
	Slots       []SlotState
	// QuarantineLeft is what remained of a crashed start's quarantine at
	// the clean shutdown (R9). A voter that crashed has forgotten leases; a
	// clean stop does not make it remember them, so the restart sits out
	// the rest of the quarantine.
	QuarantineLeft time.Duration
	// Peers are the newest incarnations this voter heard from the other
	// voters (R18), kept across a clean restart so that it can still
	// recognise a peer that comes back from a stale copy of its data dir.
	Peers []PeerIncarnation
	// FreshClaim keeps, across a clean restart, that this data dir's first
	// start claimed a new cluster and was never checked as a voter's: the
	// check is still owed when the node first becomes a voter (R18).
	FreshClaim bool `msgpack:",omitempty"`
}

// SlotState is one acceptor slot in a State.
type SlotState struct {
	Name     string
	Promised Ballot
	// PromisedAttempt is the attempt that set Promised (R20).
	PromisedAttempt uint64
	Owner           string
	Ballot          Ballot
	Remaining       time.Duration // of the exclusion, at shutdown
	LockDelay       time.Duration
	Value           []byte
	Released        bool
}

// Snapshot captures the state to persist at a clean shutdown and stops the
// machine: after it, every input is ignored. Call it after releasing or
// abandoning held tenures; tenures still held are simply dropped (they
// expire at the acceptors on their own).
func (m *Machine) Snapshot(now Time) *State {
	st := &State{
		Version:     StateVersion,
		Era:         m.era,
		Round:       m.round,
		Attempts:    m.attempts,
		RejectBelow: m.rejectBelow,
		Forgotten:   m.forgotten,
		Peers:       m.peerList(),
		// A check under way still owes the claim: a clean stop before
		// the voters answer must not drop it.
		FreshClaim: m.freshClaim || (m.verify != nil && m.verify.fresh && !m.amnesic),
	}
	if m.Quarantined(now) {
		st.QuarantineLeft = m.quarantineUntil.Sub(now)
	}
	names := make([]string, 0, len(m.slots))
	for n := range m.slots {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s := m.slots[n]
		ss := SlotState{Name: n, Promised: s.promised, PromisedAttempt: s.promisedAttempt, Owner: s.owner, Ballot: s.ballot,
			LockDelay: s.lockDelay, Value: s.value, Released: s.released}
		if s.until > now {
			ss.Remaining = s.until.Sub(now)
		}
		st.Slots = append(st.Slots, ss)
	}
	m.stop()
	return st
}

// Stop halts the machine without a snapshot (what a crash looks like to the
// protocol). Every later input is ignored.
func (m *Machine) Stop() { m.stop() }

func (m *Machine) stop() {
	m.stopped = true
	m.timers = nil
}

func (m *Machine) restore(st *State, now Time) {
	m.era = max(st.Era, 1)
	m.round = st.Round
	m.rejectBelow = st.RejectBelow
	m.forgotten = st.Forgotten
	m.freshClaim = st.FreshClaim
	if st.QuarantineLeft > 0 {
		m.quarantine = true
		m.quarantineUntil = now.Add(st.QuarantineLeft)
	}
	for _, p := range st.Peers {
		if _, ok := m.voters.Index(p.Name); ok && p.Boot > m.peers[p.Name].Boot {
			m.peers[p.Name] = p.Incarnation
		}
	}
	for _, ss := range st.Slots {
		if checkName(ss.Name) != nil {
			continue
		}
		s := &slot{name: ss.Name, promised: ss.Promised, promisedAttempt: ss.PromisedAttempt, owner: ss.Owner, ballot: ss.Ballot,
			lockDelay: ss.LockDelay, value: ss.Value, released: ss.Released, touched: now}
		s.until = now.Add(ss.Remaining)
		m.slots[ss.Name] = s
		m.schedule(s, max(s.blockedUntil(), now.Add(m.idleGC())))
	}
}

// ErrState means an encoded State could not be read.
var ErrState = errors.New("protocol: bad state")

// EncodeState serializes a State.
func EncodeState(st *State) ([]byte, error) { return msgpack.Marshal(st) }

// DecodeState parses a State written by EncodeState.
func DecodeState(b []byte) (*State, error) {
	var st State
	if err := msgpack.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	if st.Version < minStateVersion || st.Version > StateVersion {
		return nil, fmt.Errorf("%w: version %d", ErrState, st.Version)
	}
	return &st, nil
}

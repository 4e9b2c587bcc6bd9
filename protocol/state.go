package protocol

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

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
	}
	if m.Quarantined(now) {
		st.QuarantineLeft = m.quarantineUntil.Sub(now)
	}
	names := make([]string, 0, len(m.acc))
	for n := range m.acc {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s := m.acc[n]
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
		m.acc[ss.Name] = s
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

package protocol

// The compact wire form (WireVersionRuns): consecutive Proposes with the
// same era, TTL, lock delay and flags, and consecutive Accepteds, travel as
// one run entry each, their shared fields written once. A node that holds
// many leases renews them together (renewFrom aligns them), so its
// datagrams to a voter are almost all renewal Proposes, and the voter's
// answers almost all Accepteds.
//
// A run entry, in place of a message type byte and its fields:
//
//	byte     runPropose or runAccepted
//	uvarint  count of entries, at least 1
//	runPropose only: uvarint era, uvarint TTL (ns, above 0), uvarint lock
//	         delay (ns), byte flags (runOneRound, runValues)
//	then per entry:
//	  uvarint  length of the prefix shared with the previous entry's name
//	           (0 for the first)
//	  uvarint  length of the rest of the name, then its bytes
//	  runPropose only: varint round minus the previous entry's round
//	         (the first: minus 0)
//	  varint   attempt minus the previous entry's attempt, modulo 2^64
//	  runPropose with runValues only: uvarint length of the value, then
//	         its bytes
//
// varint is encoding/binary's zig-zag varint. Ballots omit the node: it is
// the sender, as in a Propose's own form. Entries decode to exactly the
// messages they were made of, in order; the protocol sees no difference.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// WireVersionRuns heads a datagram in the compact form: the header of
// WireVersionEpoch with the epoch and the initial list's fingerprint
// always present (both 0 at epoch 0), and run entries (runPropose,
// runAccepted) among the messages. A node says in its gossip metadata
// that it reads this version; a sender writes it only to a peer that said
// so (EncodeFor) and the older forms to the others, so a cluster upgrades
// node by node.
const WireVersionRuns byte = 5

// Run entry kinds. Message types count up from 1 and stay below 0x80; run
// kinds count up from 0x80. ONLY APPEND.
const (
	runPropose  byte = 0x80
	runAccepted byte = 0x81
	runEnd      byte = 0x82 // first unused value
)

// Bits of a Propose run's flags byte. ONLY APPEND; the decoder refuses
// a bit it does not know.
const (
	runOneRound byte = 1 << 0 // every Propose of the run has OneRound set
	runValues   byte = 1 << 1 // every entry carries a value (none without)
	runFlags         = runOneRound | runValues
)

// runKindName names a run kind in errors.
func runKindName(k byte) string {
	switch k {
	case runPropose:
		return "propose run"
	case runAccepted:
		return "accepted run"
	}
	return fmt.Sprintf("run kind %#x", k)
}

// proposeKey is what the Proposes of one run share.
type proposeKey struct {
	era       uint32
	ttl, ld   time.Duration
	oneRound  bool
	hasValues bool
}

func keyOf(p *Propose) proposeKey {
	return proposeKey{era: p.Ballot.Era, ttl: p.TTL, ld: p.LockDelay, oneRound: p.OneRound, hasValues: len(p.Value) > 0}
}

// runLen is how many messages from the start of msgs can share one run:
// 0 or 1 means the first goes in its own form.
func runLen(msgs []Message) int {
	switch m := msgs[0].(type) {
	case *Propose:
		k := keyOf(m)
		n := 1
		for ; n < len(msgs); n++ {
			p, ok := msgs[n].(*Propose)
			if !ok || keyOf(p) != k {
				break
			}
		}
		return n
	case *Accepted:
		n := 1
		for ; n < len(msgs); n++ {
			if _, ok := msgs[n].(*Accepted); !ok {
				break
			}
		}
		return n
	}
	return 0
}

// runState is what an entry is written relative to: the previous entry.
type runState struct {
	name    string
	round   uint32
	attempt uint64
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// appendEntry writes m as an entry after st and returns st moved on to m.
func appendEntry(b []byte, st runState, m Message) ([]byte, runState) {
	name := m.Lease()
	k := commonPrefix(st.name, name)
	b = binary.AppendUvarint(b, uint64(k))
	b = binary.AppendUvarint(b, uint64(len(name)-k))
	b = append(b, name[k:]...)
	var attempt uint64
	switch m := m.(type) {
	case *Propose:
		b = binary.AppendVarint(b, int64(m.Ballot.Round)-int64(st.round))
		st.round = m.Ballot.Round
		attempt = m.Attempt
	case *Accepted:
		attempt = m.Attempt
	}
	b = binary.AppendVarint(b, int64(attempt-st.attempt))
	if p, ok := m.(*Propose); ok && len(p.Value) > 0 {
		b = binary.AppendUvarint(b, uint64(len(p.Value)))
		b = append(b, p.Value...)
	}
	st.name, st.attempt = name, attempt
	return b, st
}

// appendRunFields writes what the messages of a run share: nothing for
// Accepteds.
func appendRunFields(b []byte, m Message) []byte {
	p, ok := m.(*Propose)
	if !ok {
		return b
	}
	b = binary.AppendUvarint(b, uint64(p.Ballot.Era))
	b = binary.AppendUvarint(b, uint64(p.TTL))
	b = binary.AppendUvarint(b, uint64(p.LockDelay))
	var flags byte
	if p.OneRound {
		flags |= runOneRound
	}
	if len(p.Value) > 0 {
		flags |= runValues
	}
	return append(b, flags)
}

// EncodeFor is Encode in the form a peer that advertises wire version
// wire reads: the compact form (WireVersionRuns) if it reads that, the
// form of Encode otherwise.
func (e *Encoder) EncodeFor(h Header, wire byte, msgs []Message, emit func([]byte)) error {
	if wire < WireVersionRuns {
		return e.Encode(h, msgs, emit)
	}
	if err := e.start(WireVersionRuns, h); err != nil {
		return err
	}
	for i := 0; i < len(msgs); {
		n := runLen(msgs[i:])
		if n < 2 {
			if err := e.add(msgs[i], emit); err != nil {
				return err
			}
			i++
			continue
		}
		if err := e.addRun(msgs[i:i+n], emit); err != nil {
			return err
		}
		i += n
	}
	e.flush(emit)
	return nil
}

// addRun appends ms, which runLen found to share a run, as run entries:
// as many as fit in the current datagram, then a new run in the next.
func (e *Encoder) addRun(ms []Message, emit func([]byte)) error {
	kind := runAccepted
	if _, ok := ms[0].(*Propose); ok {
		kind = runPropose
	}
	e.shared = appendRunFields(e.shared[:0], ms[0])
	headLen := e.head.Len()
	e.run = e.run[:0]
	count := 0
	var st runState
	for _, m := range ms {
		entry, next := appendEntry(e.entry[:0], st, m)
		for e.body.Len()+1+uvarintLen(count+1)+len(e.shared)+len(e.run)+len(entry) > MaxDatagram {
			if count == 0 && e.body.Len() == headLen {
				return fmt.Errorf("protocol: %s message for %q does not fit a datagram", m.Type(), m.Lease())
			}
			if count > 0 {
				e.closeRun(kind, count)
			}
			emit(e.body.Bytes())
			e.body.Reset()
			e.body.Write(e.head.Bytes())
			e.run, count, st = e.run[:0], 0, runState{}
			entry, next = appendEntry(entry[:0], st, m)
		}
		e.entry = entry
		e.run = append(e.run, entry...)
		count++
		st = next
	}
	e.closeRun(kind, count)
	return nil
}

// closeRun writes the run built in e.run into the datagram.
func (e *Encoder) closeRun(kind byte, count int) {
	var n [binary.MaxVarintLen64]byte
	e.body.WriteByte(kind)
	e.body.Write(binary.AppendUvarint(n[:0], uint64(count)))
	e.body.Write(e.shared)
	e.body.Write(e.run)
}

func uvarintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return len(binary.AppendUvarint(b[:0], uint64(n)))
}

func (d *Decoder) uvarint(max uint64) (uint64, error) {
	v, err := binary.ReadUvarint(&d.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	if v > max {
		return 0, fmt.Errorf("%d out of range (at most %d)", v, max)
	}
	return v, nil
}

func (d *Decoder) varint() (int64, error) {
	v, err := binary.ReadVarint(&d.r)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return v, err
}

// decodeRun reads a run entry of kind k (its kind byte already read) from
// sender from, and appends its messages to out.
func (d *Decoder) decodeRun(k byte, from string, out []Message) ([]Message, error) {
	if k != runPropose && k != runAccepted {
		return out, ErrMsgType
	}
	count, err := d.uvarint(uint64(d.r.Len()))
	if err != nil {
		return out, fmt.Errorf("count: %w", err)
	}
	if count == 0 {
		return out, errors.New("no entries")
	}
	var tmpl Propose
	var flags byte
	if k == runPropose {
		era, err := d.uvarint(math.MaxUint32)
		if err != nil {
			return out, fmt.Errorf("era: %w", err)
		}
		ttl, err := d.uvarint(math.MaxInt64)
		if err != nil || ttl == 0 {
			return out, fmt.Errorf("TTL %d: %v", ttl, err)
		}
		ld, err := d.uvarint(math.MaxInt64)
		if err != nil {
			return out, fmt.Errorf("lock delay: %w", err)
		}
		if flags, err = d.r.ReadByte(); err != nil {
			return out, fmt.Errorf("flags: %w", io.ErrUnexpectedEOF)
		}
		if flags&^runFlags != 0 {
			return out, fmt.Errorf("flags %#x unknown", flags)
		}
		tmpl = Propose{Ballot: Ballot{Era: uint32(era), Node: from}, TTL: time.Duration(ttl), LockDelay: time.Duration(ld), OneRound: flags&runOneRound != 0}
	}
	if cap(d.scratch) < MaxDatagram {
		d.scratch = make([]byte, MaxDatagram)
	}
	prev := 0 // length of the previous name, held in d.scratch
	var st runState
	for i := range count {
		name, err := d.runName(&prev)
		if err != nil {
			return out, fmt.Errorf("entry %d: name: %w", i, err)
		}
		var round int64
		if k == runPropose {
			delta, err := d.varint()
			if round = int64(st.round) + delta; err == nil && (round < 0 || round > math.MaxUint32) {
				err = fmt.Errorf("%d out of range", round)
			}
			if err != nil {
				return out, fmt.Errorf("entry %d: round: %w", i, err)
			}
			st.round = uint32(round)
		}
		delta, err := d.varint()
		if err != nil {
			return out, fmt.Errorf("entry %d: attempt: %w", i, err)
		}
		st.attempt += uint64(delta)
		if k == runAccepted {
			out = append(out, &Accepted{Name: name, Attempt: st.attempt})
			continue
		}
		p := tmpl
		p.Name, p.Ballot.Round, p.Attempt = name, st.round, st.attempt
		if flags&runValues != 0 {
			if p.Value, err = d.runValue(); err != nil {
				return out, fmt.Errorf("entry %d: value: %w", i, err)
			}
		}
		out = append(out, &p)
	}
	return out, nil
}

// runName reads an entry's name: a prefix of the previous one, *prev
// bytes at the start of d.scratch, and the rest. It leaves the new name
// there for the next entry.
func (d *Decoder) runName(prev *int) (string, error) {
	shared, err := d.uvarint(uint64(*prev))
	if err != nil {
		return "", fmt.Errorf("shared prefix: %w", err)
	}
	rest, err := d.uvarint(MaxNameLen - shared)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadName, err)
	}
	if rest > uint64(d.r.Len()) {
		return "", fmt.Errorf("%d bytes past the end", rest)
	}
	n := int(shared + rest)
	if _, err := io.ReadFull(&d.r, d.scratch[shared:n]); err != nil {
		return "", err
	}
	*prev = n
	name := string(d.scratch[:n])
	return name, checkName(name)
}

// runValue reads an entry's value: never empty in a run with values, since
// the encoder puts a Propose without one in another run.
func (d *Decoder) runValue() ([]byte, error) {
	n, err := d.uvarint(MaxValueLen)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("empty value in a run with values")
	}
	if n > uint64(d.r.Len()) {
		return nil, fmt.Errorf("%d bytes past the end", n)
	}
	v := make([]byte, n)
	_, err = io.ReadFull(&d.r, v)
	return v, err
}

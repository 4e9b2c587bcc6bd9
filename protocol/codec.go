package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Wire format of one datagram:
//
//	byte 0        WireVersion
//	msgpack str   the sender's node name
//	msgpack str   the sender's cluster ID (Identity.Cluster)
//	msgpack uint  the sender's voter fingerprint (Identity.Voters)
//	msgpack uint  the sender's configuration epoch (Identity.Epoch) and
//	msgpack uint  the fingerprint of its cluster's initial voter list
//	              (Identity.Genesis), both only in a WireVersionEpoch or
//	              WireVersionRuns datagram
//	then, repeated until the end:
//	  byte        MsgType
//	  msgpack     an array of the message's fields, in declaration order
//	or, in a WireVersionRuns datagram only, a run entry of many Proposes
//	or Accepteds (a kind byte from 0x80, codec_compact.go)
//
// Fields are only ever appended to a message; a decoder skips trailing
// fields it does not know, and refuses a message with fewer fields than it
// needs. Ballots in Prepare, Propose and Release omit the node: it is the
// sender.
const (
	// WireVersion is the first byte of every datagram. ONLY APPEND: a new
	// incompatible format takes the next value. Version 1 had no identity
	// in its header (R17); a node of this version refuses it, and a node of
	// version 1 refuses this one, so the two never count each other's votes.
	// Version 2 had no Propose.OneRound, no Reason in Promise and Reject
	// and no Vacant.Pass:
	// a version-2 acceptor would skip the flag and judge a one-round
	// Propose as phase two (equal ballots, the sender's own live lease),
	// so the two versions refuse each other too.
	WireVersion byte = 3
	// WireVersionEpoch heads the datagrams of a node whose voters were
	// changed (configuration epoch above 0, R21): version 3 with the epoch
	// and the initial list's fingerprint after the fingerprint. A node still at epoch 0 writes WireVersion, so
	// a cluster can be upgraded node by node until its first voter change;
	// the decoder reads both, and a node that cannot read version 4 never
	// takes a datagram of a changed configuration.
	WireVersionEpoch byte = 4
	// MaxDatagram is the largest datagram the encoder writes and the decoder
	// accepts, in bytes: one Ethernet-MTU UDP payload with room for
	// memberlist's framing and encryption.
	MaxDatagram = 1400
)

// Sentinel errors of the decoder. Every decoding failure wraps ErrDecode.
var (
	// ErrDecode wraps every reason a datagram was refused.
	ErrDecode = errors.New("protocol: bad datagram")
	// ErrVersion means the first byte is not a known WireVersion.
	ErrVersion = errors.New("protocol: unknown wire version")
	// ErrMsgType means a message type byte is unknown.
	ErrMsgType = errors.New("protocol: unknown message type")
	// ErrTooLarge means the datagram exceeds MaxDatagram.
	ErrTooLarge = errors.New("protocol: datagram too large")
)

// Encoder packs messages into datagrams. It reuses its buffers, so it is not
// safe for concurrent use; give each goroutine its own.
type Encoder struct {
	head, body bytes.Buffer
	enc        *msgpack.Encoder
	msg        bytes.Buffer
	// shared, run and entry build a run entry (codec_compact.go).
	shared, run, entry []byte
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = msgpack.NewEncoder(&e.msg)
	return e
}

// Encode packs msgs, all from the sender h names and all for one peer, into
// as few datagrams as fit MaxDatagram each, and calls emit with each one. The
// slice given to emit is reused after emit returns: copy it to keep it.
func (e *Encoder) Encode(h Header, msgs []Message, emit func([]byte)) error {
	v := WireVersion
	if h.ID.Epoch != 0 {
		v = WireVersionEpoch
	}
	if err := e.start(v, h); err != nil {
		return err
	}
	for _, m := range msgs {
		if err := e.add(m, emit); err != nil {
			return err
		}
	}
	e.flush(emit)
	return nil
}

// start writes the header of a datagram of version v and begins the first
// datagram.
func (e *Encoder) start(v byte, h Header) error {
	e.head.Reset()
	e.head.WriteByte(v)
	e.enc.Reset(&e.head)
	if err := errors.Join(e.enc.EncodeString(h.From), e.enc.EncodeString(h.ID.Cluster), e.enc.EncodeUint(h.ID.Voters)); err != nil {
		return err
	}
	if v != WireVersion {
		if err := errors.Join(e.enc.EncodeUint(h.ID.Epoch), e.enc.EncodeUint(h.ID.Genesis)); err != nil {
			return err
		}
	}
	e.body.Reset()
	e.body.Write(e.head.Bytes())
	return nil
}

// add appends m in its own form, emitting the datagram first if m does
// not fit in it.
func (e *Encoder) add(m Message, emit func([]byte)) error {
	e.msg.Reset()
	e.enc.Reset(&e.msg)
	e.msg.WriteByte(byte(m.Type()))
	if err := encodeFields(e.enc, m); err != nil {
		return err
	}
	if e.head.Len()+e.msg.Len() > MaxDatagram {
		return fmt.Errorf("protocol: %s message for %q is %d bytes, over %d", m.Type(), m.Lease(), e.msg.Len(), MaxDatagram)
	}
	if e.body.Len()+e.msg.Len() > MaxDatagram {
		emit(e.body.Bytes())
		e.body.Reset()
		e.body.Write(e.head.Bytes())
	}
	e.body.Write(e.msg.Bytes())
	return nil
}

// flush emits the last datagram if it holds a message.
func (e *Encoder) flush(emit func([]byte)) {
	if e.body.Len() > e.head.Len() {
		emit(e.body.Bytes())
	}
}

func encodeBallotNoNode(enc *msgpack.Encoder, b Ballot) error {
	if err := enc.EncodeUint32(b.Era); err != nil {
		return err
	}
	return enc.EncodeUint32(b.Round)
}

func encodeBallot(enc *msgpack.Encoder, b Ballot) error {
	if err := encodeBallotNoNode(enc, b); err != nil {
		return err
	}
	return enc.EncodeString(b.Node)
}

// encodeLeaseInfo writes the four fields of a LeaseInfo (owner, ballot as
// era and round, remaining, value) inline.
func encodeLeaseInfo(enc *msgpack.Encoder, l LeaseInfo) error {
	if err := enc.EncodeString(l.Owner); err != nil {
		return err
	}
	if err := encodeBallotNoNode(enc, l.Ballot); err != nil {
		return err
	}
	if err := enc.EncodeInt(int64(l.Remaining)); err != nil {
		return err
	}
	return enc.EncodeBytes(l.Value)
}

const leaseInfoFields = 5

func encodeFields(enc *msgpack.Encoder, m Message) error {
	var errs [8]error
	switch m := m.(type) {
	case *Prepare:
		errs[0] = enc.EncodeArrayLen(4)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = encodeBallotNoNode(enc, m.Ballot)
		errs[3] = enc.EncodeUint(m.Attempt)
	case *Promise:
		errs[0] = enc.EncodeArrayLen(3 + leaseInfoFields)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = enc.EncodeUint(m.Attempt)
		errs[3] = encodeLeaseInfo(enc, m.Holder)
		errs[4] = enc.EncodeUint8(uint8(m.Reason))
	case *Reject:
		errs[0] = enc.EncodeArrayLen(6 + leaseInfoFields)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = enc.EncodeUint(m.Attempt)
		errs[3] = encodeBallot(enc, m.Promised)
		errs[4] = encodeLeaseInfo(enc, m.Holder)
		errs[5] = enc.EncodeUint8(uint8(m.Reason))
	case *Propose:
		errs[0] = enc.EncodeArrayLen(8)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = encodeBallotNoNode(enc, m.Ballot)
		errs[3] = enc.EncodeUint(m.Attempt)
		errs[4] = enc.EncodeInt(int64(m.TTL))
		errs[5] = enc.EncodeInt(int64(m.LockDelay))
		errs[6] = enc.EncodeBytes(m.Value)
		errs[7] = enc.EncodeBool(m.OneRound)
	case *Accepted:
		errs[0] = enc.EncodeArrayLen(2)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = enc.EncodeUint(m.Attempt)
	case *Release:
		errs[0] = enc.EncodeArrayLen(3)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = encodeBallotNoNode(enc, m.Ballot)
	case *Query:
		errs[0] = enc.EncodeArrayLen(2)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = enc.EncodeUint(m.ID)
	case *QueryReply:
		errs[0] = enc.EncodeArrayLen(2 + leaseInfoFields)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = enc.EncodeUint(m.ID)
		errs[3] = encodeLeaseInfo(enc, m.Holder)
	case *Vacant:
		errs[0] = enc.EncodeArrayLen(2)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = enc.EncodeBool(m.Pass)
	case *Hello:
		errs[0] = enc.EncodeArrayLen(2)
		errs[1] = enc.EncodeUint(m.Boot)
		errs[2] = enc.EncodeUint(m.Nonce)
	case *HelloReply:
		errs[0] = enc.EncodeArrayLen(5)
		errs[1] = enc.EncodeUint(m.Boot)
		errs[2] = enc.EncodeUint(m.Nonce)
		errs[3] = enc.EncodeBool(m.Stale)
		errs[4] = enc.EncodeUint(m.Seen)
		errs[5] = enc.EncodeUint32(m.Era)
	default:
		if ok, err := encodeConfigFields(enc, m); ok {
			return err
		}
		return fmt.Errorf("protocol: cannot encode %T", m)
	}
	return errors.Join(errs[:]...)
}

// Decoder unpacks datagrams. It reuses its buffers, so it is not safe for
// concurrent use.
type Decoder struct {
	r       bytes.Reader
	dec     *msgpack.Decoder
	msgs    []Message
	scratch []byte
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	d := &Decoder{}
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}

// Decode unpacks one datagram into its header and messages. It is all or
// nothing: any malformed part refuses the whole datagram with an error that
// wraps ErrDecode, and never panics. The returned slice is reused by the next
// call; the messages themselves are fresh. Whether the header's identity is
// acceptable is the machine's decision (Machine.Admit), not the decoder's.
func (d *Decoder) Decode(b []byte) (h Header, msgs []Message, err error) {
	defer func() {
		if r := recover(); r != nil { // the msgpack library must not take the node down
			h, msgs, err = Header{}, nil, fmt.Errorf("%w: decoder panic: %v", ErrDecode, r)
		}
	}()
	if len(b) > MaxDatagram {
		return Header{}, nil, fmt.Errorf("%w: %w: %d bytes", ErrDecode, ErrTooLarge, len(b))
	}
	if len(b) == 0 {
		return Header{}, nil, fmt.Errorf("%w: empty", ErrDecode)
	}
	if b[0] != WireVersion && b[0] != WireVersionEpoch && b[0] != WireVersionRuns {
		return Header{}, nil, fmt.Errorf("%w: %w %d", ErrDecode, ErrVersion, b[0])
	}
	d.r.Reset(b[1:])
	d.dec.Reset(&d.r)
	h.From, err = d.str(MaxNodeNameLen)
	if err != nil || h.From == "" {
		return Header{}, nil, fmt.Errorf("%w: sender: %v", ErrDecode, err)
	}
	if h.ID.Cluster, err = d.str(MaxClusterLen); err != nil {
		return Header{}, nil, fmt.Errorf("%w: cluster: %v", ErrDecode, err)
	}
	if h.ID.Voters, err = d.u64(); err != nil {
		return Header{}, nil, fmt.Errorf("%w: voter fingerprint: %v", ErrDecode, err)
	}
	if b[0] != WireVersion {
		// Version 5 (codec_compact.go) carries epoch 0 too, with no
		// initial fingerprint: at epoch 0 Voters is that fingerprint.
		if h.ID.Epoch, err = d.u64(); err != nil || (h.ID.Epoch == 0 && b[0] == WireVersionEpoch) {
			return Header{}, nil, fmt.Errorf("%w: configuration epoch: %v", ErrDecode, err)
		}
		if h.ID.Genesis, err = d.u64(); err != nil || (h.ID.Epoch == 0 && h.ID.Genesis != 0) {
			return Header{}, nil, fmt.Errorf("%w: initial voter fingerprint: %v", ErrDecode, err)
		}
	}
	d.msgs = d.msgs[:0]
	for d.r.Len() > 0 {
		t, _ := d.r.ReadByte()
		if t >= runPropose && b[0] == WireVersionRuns { // codec_compact.go
			if d.msgs, err = d.decodeRun(t, h.From, d.msgs); err != nil {
				return Header{}, nil, fmt.Errorf("%w: %s: %w", ErrDecode, runKindName(t), err)
			}
			continue
		}
		m, err := d.decodeOne(MsgType(t), h.From)
		if err != nil {
			return Header{}, nil, fmt.Errorf("%w: %s: %w", ErrDecode, MsgType(t), err)
		}
		d.msgs = append(d.msgs, m)
	}
	if len(d.msgs) == 0 {
		return Header{}, nil, fmt.Errorf("%w: no messages", ErrDecode)
	}
	return h, d.msgs, nil
}

// raw reads a msgpack str or bin of at most max bytes. The length header is
// checked against max and against the bytes left in the datagram before
// anything is allocated: a 20-byte datagram announcing a 4 GiB value must
// cost nothing.
func (d *Decoder) raw(max int) ([]byte, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil // nil or empty
	}
	if n > max || n > d.r.Len() {
		return nil, fmt.Errorf("field of %d bytes: over %d or past the end", n, max)
	}
	if cap(d.scratch) < n {
		d.scratch = make([]byte, MaxDatagram)
	}
	b := d.scratch[:n]
	if _, err := io.ReadFull(&d.r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (d *Decoder) str(max int) (string, error) {
	b, err := d.raw(max)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", errors.New("string not UTF-8")
	}
	return string(b), nil
}

func (d *Decoder) name() (string, error) {
	b, err := d.raw(MaxDatagram) // checkName reports an overlong name
	if err != nil {
		return "", err
	}
	if len(b) > MaxNameLen {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrBadName, len(b), MaxNameLen)
	}
	s := string(b)
	return s, checkName(s)
}

// skip skips one value of a field this version does not know, with every
// length bounded by the bytes left and nesting bounded by depth.
func (d *Decoder) skip(depth int) error {
	if depth > 8 {
		return errors.New("nesting too deep")
	}
	c, err := d.dec.PeekCode()
	if err != nil {
		return err
	}
	switch {
	case msgpcode.IsString(c) || c == msgpcode.Bin8 || c == msgpcode.Bin16 || c == msgpcode.Bin32:
		_, err := d.raw(MaxDatagram)
		return err
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.dec.DecodeArrayLen()
		if err != nil {
			return err
		}
		if n > d.r.Len() {
			return fmt.Errorf("array of %d past the end", n)
		}
		for range n {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.dec.DecodeMapLen()
		if err != nil {
			return err
		}
		if 2*n > d.r.Len() {
			return fmt.Errorf("map of %d past the end", n)
		}
		for range 2 * n {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case msgpcode.IsExt(c):
		return errors.New("extension types are not used")
	}
	return d.dec.Skip() // numbers, nil, booleans: fixed size
}

func (d *Decoder) u32() (uint32, error) { return d.dec.DecodeUint32() }
func (d *Decoder) u64() (uint64, error) { return d.dec.DecodeUint64() }

func (d *Decoder) dur(allowZero bool) (time.Duration, error) {
	v, err := d.dec.DecodeInt64()
	if err != nil {
		return 0, err
	}
	if v < 0 || (v == 0 && !allowZero) {
		return 0, fmt.Errorf("duration %d out of range", v)
	}
	return time.Duration(v), nil
}

func (d *Decoder) value() ([]byte, error) {
	b, err := d.raw(MaxValueLen)
	if err != nil || b == nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

func (d *Decoder) ballotNoNode(node string) (b Ballot, err error) {
	b.Node = node
	if b.Era, err = d.u32(); err != nil {
		return b, err
	}
	b.Round, err = d.u32()
	return b, err
}

func (d *Decoder) ballot() (Ballot, error) {
	b, err := d.ballotNoNode("")
	if err != nil {
		return b, err
	}
	b.Node, err = d.str(MaxNodeNameLen)
	return b, err
}

func (d *Decoder) leaseInfo() (l LeaseInfo, err error) {
	if l.Owner, err = d.str(MaxNodeNameLen); err != nil {
		return l, err
	}
	if l.Ballot, err = d.ballotNoNode(l.Owner); err != nil {
		return l, err
	}
	if l.Remaining, err = d.dur(true); err != nil {
		return l, err
	}
	l.Value, err = d.value()
	return l, err
}

// reason reads a Reason; a value this version does not know is refused.
func (d *Decoder) reason() (Reason, error) {
	v, err := d.dec.DecodeUint8()
	if err != nil {
		return 0, err
	}
	if Reason(v) >= reasonEnd {
		return 0, fmt.Errorf("reason %d unknown", v)
	}
	return Reason(v), nil
}

// fieldCount is how many fields each type needs at least.
var fieldCount = [typeEnd]int{
	TypePrepare:    4,
	TypePromise:    3 + leaseInfoFields,
	TypeReject:     6 + leaseInfoFields,
	TypePropose:    8,
	TypeAccepted:   2,
	TypeRelease:    3,
	TypeQuery:      2,
	TypeQueryReply: 2 + leaseInfoFields,
	TypeVacant:     2,
	TypeHello:      2,
	TypeHelloReply: 5,
}

func (d *Decoder) decodeOne(t MsgType, from string) (Message, error) {
	if t == 0 || t >= typeEnd {
		return nil, ErrMsgType
	}
	n, err := d.dec.DecodeArrayLen()
	if err != nil {
		return nil, err
	}
	if n > d.r.Len() {
		return nil, fmt.Errorf("%d fields past the end", n)
	}
	if n < fieldCount[t] {
		return nil, fmt.Errorf("%d fields, need %d", n, fieldCount[t])
	}
	if c, ok := configFieldCount[t]; ok { // reconfig_msgs.go
		if n < c {
			return nil, fmt.Errorf("%d fields, need %d", n, c)
		}
		m, _, err := d.decodeConfig(t)
		if err != nil {
			return nil, err
		}
		for range n - c {
			if err := d.skip(0); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	var m Message
	var errs [8]error
	switch t {
	case TypePrepare:
		p := &Prepare{}
		p.Name, errs[0] = d.name()
		p.Ballot, errs[1] = d.ballotNoNode(from)
		p.Attempt, errs[2] = d.u64()
		m = p
	case TypePromise:
		p := &Promise{}
		p.Name, errs[0] = d.name()
		p.Attempt, errs[1] = d.u64()
		p.Holder, errs[2] = d.leaseInfo()
		p.Reason, errs[3] = d.reason()
		m = p
	case TypeReject:
		p := &Reject{}
		p.Name, errs[0] = d.name()
		p.Attempt, errs[1] = d.u64()
		p.Promised, errs[2] = d.ballot()
		p.Holder, errs[3] = d.leaseInfo()
		p.Reason, errs[4] = d.reason()
		m = p
	case TypePropose:
		p := &Propose{}
		p.Name, errs[0] = d.name()
		p.Ballot, errs[1] = d.ballotNoNode(from)
		p.Attempt, errs[2] = d.u64()
		p.TTL, errs[3] = d.dur(false)
		p.LockDelay, errs[4] = d.dur(true)
		p.Value, errs[5] = d.value()
		p.OneRound, errs[6] = d.dec.DecodeBool()
		m = p
	case TypeAccepted:
		p := &Accepted{}
		p.Name, errs[0] = d.name()
		p.Attempt, errs[1] = d.u64()
		m = p
	case TypeRelease:
		p := &Release{}
		p.Name, errs[0] = d.name()
		p.Ballot, errs[1] = d.ballotNoNode(from)
		m = p
	case TypeQuery:
		p := &Query{}
		p.Name, errs[0] = d.name()
		p.ID, errs[1] = d.u64()
		m = p
	case TypeQueryReply:
		p := &QueryReply{}
		p.Name, errs[0] = d.name()
		p.ID, errs[1] = d.u64()
		p.Holder, errs[2] = d.leaseInfo()
		m = p
	case TypeVacant:
		p := &Vacant{}
		p.Name, errs[0] = d.name()
		p.Pass, errs[1] = d.dec.DecodeBool()
		m = p
	case TypeHello:
		p := &Hello{}
		p.Boot, errs[0] = d.u64()
		p.Nonce, errs[1] = d.u64()
		m = p
	case TypeHelloReply:
		p := &HelloReply{}
		p.Boot, errs[0] = d.u64()
		p.Nonce, errs[1] = d.u64()
		p.Stale, errs[2] = d.dec.DecodeBool()
		p.Seen, errs[3] = d.u64()
		p.Era, errs[4] = d.u32()
		m = p
	}
	// The first error is the cause; later ones follow from it.
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	for range n - fieldCount[t] { // fields appended by a newer version
		if err := d.skip(0); err != nil {
			return nil, err
		}
	}
	return m, nil
}

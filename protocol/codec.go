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
//	then, repeated until the end:
//	  byte        MsgType
//	  msgpack     an array of the message's fields, in declaration order
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
	WireVersion byte = 2
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
	e.head.Reset()
	e.head.WriteByte(WireVersion)
	e.enc.Reset(&e.head)
	if err := errors.Join(e.enc.EncodeString(h.From), e.enc.EncodeString(h.ID.Cluster), e.enc.EncodeUint(h.ID.Voters)); err != nil {
		return err
	}
	e.body.Reset()
	e.body.Write(e.head.Bytes())
	headLen := e.head.Len()
	for _, m := range msgs {
		e.msg.Reset()
		e.enc.Reset(&e.msg)
		e.msg.WriteByte(byte(m.Type()))
		if err := encodeFields(e.enc, m); err != nil {
			return err
		}
		if headLen+e.msg.Len() > MaxDatagram {
			return fmt.Errorf("protocol: %s message for %q is %d bytes, over %d", m.Type(), m.Lease(), e.msg.Len(), MaxDatagram)
		}
		if e.body.Len()+e.msg.Len() > MaxDatagram {
			emit(e.body.Bytes())
			e.body.Reset()
			e.body.Write(e.head.Bytes())
		}
		e.body.Write(e.msg.Bytes())
	}
	if e.body.Len() > headLen {
		emit(e.body.Bytes())
	}
	return nil
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
		errs[0] = enc.EncodeArrayLen(2 + leaseInfoFields)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = enc.EncodeUint(m.Attempt)
		errs[3] = encodeLeaseInfo(enc, m.Holder)
	case *Reject:
		errs[0] = enc.EncodeArrayLen(5 + leaseInfoFields)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = enc.EncodeUint(m.Attempt)
		errs[3] = encodeBallot(enc, m.Promised)
		errs[4] = encodeLeaseInfo(enc, m.Holder)
	case *Propose:
		errs[0] = enc.EncodeArrayLen(7)
		errs[1] = enc.EncodeString(m.Name)
		errs[2] = encodeBallotNoNode(enc, m.Ballot)
		errs[3] = enc.EncodeUint(m.Attempt)
		errs[4] = enc.EncodeInt(int64(m.TTL))
		errs[5] = enc.EncodeInt(int64(m.LockDelay))
		errs[6] = enc.EncodeBytes(m.Value)
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
		errs[0] = enc.EncodeArrayLen(1)
		errs[1] = enc.EncodeString(m.Name)
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
	if b[0] != WireVersion {
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
	d.msgs = d.msgs[:0]
	for d.r.Len() > 0 {
		t, _ := d.r.ReadByte()
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

// fieldCount is how many fields each type needs at least.
var fieldCount = [typeEnd]int{
	TypePrepare:    4,
	TypePromise:    2 + leaseInfoFields,
	TypeReject:     5 + leaseInfoFields,
	TypePropose:    7,
	TypeAccepted:   2,
	TypeRelease:    3,
	TypeQuery:      2,
	TypeQueryReply: 2 + leaseInfoFields,
	TypeVacant:     1,
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
		m = p
	case TypeReject:
		p := &Reject{}
		p.Name, errs[0] = d.name()
		p.Attempt, errs[1] = d.u64()
		p.Promised, errs[2] = d.ballot()
		p.Holder, errs[3] = d.leaseInfo()
		m = p
	case TypePropose:
		p := &Propose{}
		p.Name, errs[0] = d.name()
		p.Ballot, errs[1] = d.ballotNoNode(from)
		p.Attempt, errs[2] = d.u64()
		p.TTL, errs[3] = d.dur(false)
		p.LockDelay, errs[4] = d.dur(true)
		p.Value, errs[5] = d.value()
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

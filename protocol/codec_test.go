package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

// Generators of valid wire content.
var (
	nameRunes = rapid.RuneFrom([]rune("abcxyz-_./:0123456789AZéß世界🙂 "))
	genNode   = rapid.StringOfN(nameRunes, 1, 40, MaxNodeNameLen)
	genName   = rapid.OneOf(
		rapid.StringOfN(nameRunes, 1, 20, MaxNameLen),
		rapid.StringOfN(nameRunes, MaxNameLen/4, MaxNameLen, MaxNameLen), // near the limit
	)
	genValue = rapid.OneOf(
		rapid.Just[[]byte](nil),
		rapid.SliceOfN(rapid.Byte(), 1, 32),
		rapid.SliceOfN(rapid.Byte(), MaxValueLen-8, MaxValueLen),
	)
	genDur   = rapid.Custom(func(t *rapid.T) time.Duration { return time.Duration(rapid.Int64Min(0).Draw(t, "dur")) })
	genTTL   = rapid.Custom(func(t *rapid.T) time.Duration { return time.Duration(rapid.Int64Min(1).Draw(t, "ttl")) })
	genU32   = rapid.Uint32()
	genU64   = rapid.Uint64()
	genOwner = rapid.OneOf(rapid.Just(""), genNode)
)

func genInfo(t *rapid.T) LeaseInfo {
	owner := genOwner.Draw(t, "owner")
	return LeaseInfo{Owner: owner, Ballot: Ballot{Era: genU32.Draw(t, "era"), Round: genU32.Draw(t, "round"), Node: owner},
		Remaining: genDur.Draw(t, "remaining"), Value: genValue.Draw(t, "value")}
}

// genMessage draws any valid message sent by from. Ballots that the wire
// omits (the sender's own) carry from as their node, as the decoder sets.
func genMessage(from string) *rapid.Generator[Message] {
	return rapid.Custom(func(t *rapid.T) Message {
		name := genName.Draw(t, "name")
		ballot := Ballot{Era: genU32.Draw(t, "era"), Round: genU32.Draw(t, "round"), Node: from}
		switch MsgType(rapid.IntRange(1, int(typeEnd)-1).Draw(t, "type")) {
		case TypePrepare:
			return &Prepare{Name: name, Ballot: ballot, Attempt: genU64.Draw(t, "attempt")}
		case TypePromise:
			return &Promise{Name: name, Attempt: genU64.Draw(t, "attempt"), Holder: genInfo(t)}
		case TypeReject:
			return &Reject{Name: name, Attempt: genU64.Draw(t, "attempt"),
				Promised: Ballot{Era: genU32.Draw(t, "pera"), Round: genU32.Draw(t, "pround"), Node: genOwner.Draw(t, "pnode")},
				Holder:   genInfo(t)}
		case TypePropose:
			return &Propose{Name: name, Ballot: ballot, Attempt: genU64.Draw(t, "attempt"), TTL: genTTL.Draw(t, "ttl"),
				LockDelay: genDur.Draw(t, "lockdelay"), Value: genValue.Draw(t, "value")}
		case TypeAccepted:
			return &Accepted{Name: name, Attempt: genU64.Draw(t, "attempt")}
		case TypeRelease:
			return &Release{Name: name, Ballot: ballot}
		case TypeQuery:
			return &Query{Name: name, ID: genU64.Draw(t, "id")}
		case TypeQueryReply:
			return &QueryReply{Name: name, ID: genU64.Draw(t, "id"), Holder: genInfo(t)}
		default:
			return &Vacant{Name: name, Pass: rapid.Bool().Draw(t, "pass")}
		}
	})
}

// normalize makes empty values nil so that equal messages compare equal.
func normalize(ms []Message) []Message {
	out := make([]Message, len(ms))
	fix := func(v []byte) []byte {
		if len(v) == 0 {
			return nil
		}
		return v
	}
	for i, m := range ms {
		switch m := m.(type) {
		case *Promise:
			c := *m
			c.Holder.Value = fix(c.Holder.Value)
			out[i] = &c
		case *Reject:
			c := *m
			c.Holder.Value = fix(c.Holder.Value)
			out[i] = &c
		case *QueryReply:
			c := *m
			c.Holder.Value = fix(c.Holder.Value)
			out[i] = &c
		case *Propose:
			c := *m
			c.Value = fix(c.Value)
			out[i] = &c
		default:
			out[i] = m
		}
	}
	return out
}

// tb is what the helpers need of *testing.T and *rapid.T alike.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// testID is the identity the codec tests put in their datagrams.
var testID = Identity{Cluster: "c", Voters: 0x5a}

// encodeAll encodes msgs and returns copies of the datagrams.
func encodeAll(t tb, from string, msgs []Message) [][]byte {
	t.Helper()
	return encodeAllH(t, Header{From: from, ID: testID}, msgs)
}

// encodeAllH encodes msgs under header h and returns copies of the datagrams.
func encodeAllH(t tb, h Header, msgs []Message) [][]byte {
	t.Helper()
	var out [][]byte
	if err := NewEncoder().Encode(h, msgs, func(b []byte) { out = append(out, slices.Clone(b)) }); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return out
}

// decodeAll decodes every datagram, checks the sender, and concatenates.
func decodeAll(t tb, from string, grams [][]byte) []Message {
	t.Helper()
	return decodeAllH(t, Header{From: from, ID: testID}, grams)
}

// decodeAllH decodes every datagram, checks the header, and concatenates.
func decodeAllH(t tb, want Header, grams [][]byte) []Message {
	t.Helper()
	dec := NewDecoder()
	var all []Message
	for i, g := range grams {
		if len(g) > MaxDatagram {
			t.Fatalf("datagram %d is %d bytes, over %d", i, len(g), MaxDatagram)
		}
		h, ms, err := dec.Decode(g)
		if err != nil {
			t.Fatalf("Decode datagram %d: %v", i, err)
		}
		if h != want {
			t.Fatalf("header %+v, want %+v", h, want)
		}
		all = append(all, ms...) // the messages are fresh; the slice is reused
	}
	return all
}

func sameMessages(a, b []Message) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }

// Every message type survives the wire unchanged, alone or batched, in
// order.
func TestCodecRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		from := genNode.Draw(t, "from")
		msgs := rapid.SliceOfN(genMessage(from), 1, 12).Draw(t, "msgs")
		got := decodeAll(t, from, encodeAll(t, from, msgs))
		if !sameMessages(got, msgs) {
			t.Fatalf("round trip:\n got %s\nwant %s", dumpMsgs(got), dumpMsgs(msgs))
		}
	})
}

func dumpMsgs(ms []Message) string {
	var sb strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&sb, "%s%+v ", m.Type(), m)
	}
	return sb.String()
}

// Each type at least once, at its largest: all fit one datagram.
func TestCodecLargestMessagesFit(t *testing.T) {
	from := strings.Repeat("n", MaxNodeNameLen)
	name := strings.Repeat("世", MaxNameLen/3) + "a" // 256 bytes
	if len(name) != MaxNameLen {
		t.Fatalf("name is %d bytes", len(name))
	}
	val := bytes.Repeat([]byte{0xff}, MaxValueLen)
	info := LeaseInfo{Owner: from, Ballot: Ballot{Era: 1<<32 - 1, Round: 1<<32 - 1, Node: from}, Remaining: 1<<63 - 1, Value: val}
	bl := Ballot{Era: 1<<32 - 1, Round: 1<<32 - 1, Node: from}
	all := []Message{
		&Prepare{Name: name, Ballot: bl, Attempt: 1<<64 - 1},
		&Promise{Name: name, Attempt: 1<<64 - 1, Holder: info},
		&Reject{Name: name, Attempt: 1<<64 - 1, Promised: bl, Holder: info},
		&Propose{Name: name, Ballot: bl, Attempt: 1<<64 - 1, TTL: 1<<63 - 1, LockDelay: 1<<63 - 1, Value: val},
		&Accepted{Name: name, Attempt: 1<<64 - 1},
		&Release{Name: name, Ballot: bl},
		&Query{Name: name, ID: 1<<64 - 1},
		&QueryReply{Name: name, ID: 1<<64 - 1, Holder: info},
		&Vacant{Name: name, Pass: true},
	}
	for _, m := range all {
		grams := encodeAll(t, from, []Message{m})
		if len(grams) != 1 {
			t.Fatalf("%s: %d datagrams", m.Type(), len(grams))
		}
		if got := decodeAll(t, from, grams); !sameMessages(got, []Message{m}) {
			t.Fatalf("%s: got %s", m.Type(), dumpMsgs(got))
		}
	}
	if got := decodeAll(t, from, encodeAll(t, from, all)); !sameMessages(got, all) {
		t.Fatal("batch of the largest messages did not round-trip")
	}
}

// Many messages for one peer are packed into datagrams of at most
// MaxDatagram bytes each, well filled, and come back all and in order.
func TestCodecBatching(t *testing.T) {
	for _, n := range []int{1, 2, 50, 1000, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			msgs := make([]Message, n)
			for i := range msgs {
				switch i % 3 {
				case 0:
					msgs[i] = &Propose{Name: fmt.Sprintf("lease-%d", i), Ballot: Ballot{Era: 3, Round: uint32(i), Node: "node-a"}, Attempt: uint64(i), TTL: time.Second, Value: []byte("v")}
				case 1:
					msgs[i] = &Accepted{Name: fmt.Sprintf("lease-%d", i), Attempt: uint64(i)}
				default:
					msgs[i] = &Release{Name: strings.Repeat("r", 1+i%MaxNameLen), Ballot: Ballot{Era: 3, Round: uint32(i), Node: "node-a"}}
				}
			}
			grams := encodeAll(t, "node-a", msgs)
			total := 0
			for _, g := range grams {
				total += len(g)
			}
			if len(grams) > 1 && total/len(grams) < MaxDatagram/2 {
				t.Errorf("%d datagrams averaging %d bytes: poorly packed", len(grams), total/len(grams))
			}
			if got := decodeAll(t, "node-a", grams); !sameMessages(got, msgs) {
				t.Fatalf("batch of %d did not round-trip (%d back)", n, len(got))
			}
		})
	}
	// No messages, no datagrams.
	if g := encodeAll(t, "node-a", nil); len(g) != 0 {
		t.Fatalf("empty batch gave %d datagrams", len(g))
	}
}

// A message that cannot fit one datagram is refused by the encoder, not
// sent over MaxDatagram.
func TestCodecEncoderRefusesOversized(t *testing.T) {
	big := &Propose{Name: "L", Ballot: Ballot{Era: 1, Round: 1, Node: "a"}, Attempt: 1, TTL: time.Second, Value: make([]byte, MaxDatagram)}
	var sent [][]byte
	err := NewEncoder().Encode(Header{From: "a"}, []Message{big}, func(b []byte) { sent = append(sent, b) })
	if err == nil {
		t.Fatal("oversized message encoded")
	}
	for _, g := range sent {
		if len(g) > MaxDatagram {
			t.Fatalf("datagram of %d bytes emitted", len(g))
		}
	}
}

// datagram builds raw wire bytes: the version, the sender, then whatever
// the parts write.
func datagram(version byte, from string, parts ...func(e *msgpack.Encoder, buf *bytes.Buffer)) []byte {
	var buf bytes.Buffer
	buf.WriteByte(version)
	e := msgpack.NewEncoder(&buf)
	_ = e.EncodeString(from)
	_ = e.EncodeString("c")        // cluster
	_ = e.EncodeUint(uint64(0x5a)) // voter fingerprint
	for _, p := range parts {
		p(e, &buf)
	}
	return buf.Bytes()
}

// msg writes a type byte and an array of the given fields.
func msg(t MsgType, fields ...any) func(*msgpack.Encoder, *bytes.Buffer) {
	return func(e *msgpack.Encoder, buf *bytes.Buffer) {
		buf.WriteByte(byte(t))
		_ = e.EncodeArrayLen(len(fields))
		for _, f := range fields {
			_ = e.Encode(f)
		}
	}
}

// Decode refuses every malformed datagram, whole, with an error wrapping
// ErrDecode (and the precise sentinel where there is one), and never
// panics.
func TestDecodeRejects(t *testing.T) {
	valid := encodeAll(t, "a", []Message{&Prepare{Name: "L", Ballot: Ballot{Era: 1, Round: 2, Node: "a"}, Attempt: 3}})[0]
	long := strings.Repeat("n", MaxNameLen+1)
	cases := []struct {
		name string
		raw  []byte
		is   error
	}{
		{"empty", nil, ErrDecode},
		{"version 0", append([]byte{0}, valid[1:]...), ErrVersion},
		{"version 1 (no identity)", append([]byte{1}, valid[1:]...), ErrVersion},
		{"version 2 (no one-round flag, no reasons)", append([]byte{2}, valid[1:]...), ErrVersion},
		{"cluster not a string", datagram(WireVersion, "a")[:3], ErrDecode},
		{"version 255", append([]byte{255}, valid[1:]...), ErrVersion},
		{"header only", datagram(WireVersion, "a"), ErrDecode},
		{"empty sender", datagram(WireVersion, "", msg(TypeVacant, "L", false)), ErrDecode},
		{"sender too long", datagram(WireVersion, strings.Repeat("s", MaxNodeNameLen+1), msg(TypeVacant, "L", false)), ErrDecode},
		{"sender not UTF-8", datagram(WireVersion, "\xff\xfe", msg(TypeVacant, "L", false)), ErrDecode},
		{"sender not a string", []byte{WireVersion, 0x05, byte(TypeVacant), 0x91, 0xa1, 'L'}, ErrDecode},
		{"type 0", datagram(WireVersion, "a", msg(0, "L")), ErrMsgType},
		{"type past the end", datagram(WireVersion, "a", msg(typeEnd, "L")), ErrMsgType},
		{"type 255", datagram(WireVersion, "a", msg(255, "L")), ErrMsgType},
		{"oversized", append(slices.Clone(valid), make([]byte, MaxDatagram)...), ErrTooLarge},
		{"fields missing: prepare", datagram(WireVersion, "a", msg(TypePrepare, "L", 1, 2)), ErrDecode},
		{"fields missing: propose", datagram(WireVersion, "a", msg(TypePropose, "L", 1, 2, 3, int64(time.Second), 0)), ErrDecode},
		{"fields missing: promise", datagram(WireVersion, "a", msg(TypePromise, "L", 1, "", 0, 0, 0)), ErrDecode},
		{"fields missing: vacant", datagram(WireVersion, "a", msg(TypeVacant)), ErrDecode},
		{"not an array", datagram(WireVersion, "a", func(e *msgpack.Encoder, b *bytes.Buffer) { b.WriteByte(byte(TypeVacant)); _ = e.EncodeString("L") }), ErrDecode},
		{"nil array", datagram(WireVersion, "a", func(e *msgpack.Encoder, b *bytes.Buffer) { b.WriteByte(byte(TypeVacant)); _ = e.EncodeNil() }), ErrDecode},
		{"empty name", datagram(WireVersion, "a", msg(TypeVacant, "", false)), ErrBadName},
		{"name too long", datagram(WireVersion, "a", msg(TypeVacant, long, false)), ErrBadName},
		{"name with NUL", datagram(WireVersion, "a", msg(TypeVacant, "a\x00b", false)), ErrBadName},
		{"name with newline", datagram(WireVersion, "a", msg(TypeQuery, "a\nb", 1)), ErrBadName},
		{"name with DEL", datagram(WireVersion, "a", msg(TypeVacant, "a\x7f", false)), ErrBadName},
		{"name with C1 control", datagram(WireVersion, "a", msg(TypeVacant, "a\u0085", false)), ErrBadName},
		{"name not UTF-8", datagram(WireVersion, "a", msg(TypeVacant, "a\xc3", false)), ErrBadName},
		{"name not a string", datagram(WireVersion, "a", msg(TypeVacant, 42, false)), ErrDecode},
		{"value too large", datagram(WireVersion, "a", msg(TypePropose, "L", 1, 2, 3, int64(time.Second), 0, make([]byte, MaxValueLen+1))), ErrDecode},
		{"holder value too large", datagram(WireVersion, "a", msg(TypePromise, "L", 1, "o", 1, 1, 5, make([]byte, MaxValueLen+1))), ErrDecode},
		{"zero TTL", datagram(WireVersion, "a", msg(TypePropose, "L", 1, 2, 3, 0, 0, []byte(nil))), ErrDecode},
		{"negative TTL", datagram(WireVersion, "a", msg(TypePropose, "L", 1, 2, 3, -1, 0, []byte(nil))), ErrDecode},
		{"negative lock delay", datagram(WireVersion, "a", msg(TypePropose, "L", 1, 2, 3, 5, -5, []byte(nil))), ErrDecode},
		{"negative remaining", datagram(WireVersion, "a", msg(TypeQueryReply, "L", 1, "o", 1, 1, -1, []byte(nil))), ErrDecode},
		{"owner too long", datagram(WireVersion, "a", msg(TypeQueryReply, "L", 1, strings.Repeat("o", MaxNodeNameLen+1), 1, 1, 1, []byte(nil))), ErrDecode},
		{"promised node not UTF-8", datagram(WireVersion, "a", msg(TypeReject, "L", 1, 1, 1, "\xff", "", 0, 0, 0, []byte(nil))), ErrDecode},
		{"string where a number goes", datagram(WireVersion, "a", msg(TypeQuery, "L", "one")), ErrDecode},
		{"one bad message spoils the datagram", datagram(WireVersion, "a", msg(TypeVacant, "L", false), msg(TypeVacant, "", false)), ErrDecode},
		{"trailing garbage", append(slices.Clone(valid), 0xc1), ErrDecode},
	}
	dec := NewDecoder()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, ms, err := dec.Decode(c.raw)
			if err == nil {
				t.Fatalf("decoded from=%q %s", h.From, dumpMsgs(ms))
			}
			if !errors.Is(err, ErrDecode) || !errors.Is(err, c.is) {
				t.Fatalf("error %v, want one wrapping ErrDecode and %v", err, c.is)
			}
			if strings.Contains(err.Error(), "panic") {
				t.Fatalf("decoder panicked: %v", err)
			}
			if h != (Header{}) || ms != nil {
				t.Fatalf("partial result with an error: %+v %v", h, ms)
			}
		})
	}
}

// A newer version may append fields to a message: they are skipped, and
// the next message of the datagram is still read.
func TestDecodeSkipsAppendedFields(t *testing.T) {
	raw := datagram(WireVersion, "a",
		msg(TypePrepare, "L", 1, 2, 3, "new field", []any{1, "x", map[string]int{"k": 1}}),
		msg(TypeVacant, "M", true, 7))
	h, ms, err := NewDecoder().Decode(raw)
	from := h.From
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{&Prepare{Name: "L", Ballot: Ballot{Era: 1, Round: 2, Node: "a"}, Attempt: 3}, &Vacant{Name: "M", Pass: true}}
	if from != "a" || !sameMessages(ms, want) {
		t.Fatalf("got %q %s", from, dumpMsgs(ms))
	}
}

// Every strict prefix of a one-message datagram of each type is refused
// (truncation at every byte offset), with ErrDecode and no panic.
func TestDecodeTruncatedEverywhere(t *testing.T) {
	info := LeaseInfo{Owner: "o", Ballot: Ballot{Era: 5, Round: 6, Node: "o"}, Remaining: time.Second, Value: []byte("val")}
	all := []Message{
		&Prepare{Name: "L", Ballot: Ballot{Era: 1, Round: 2, Node: "a"}, Attempt: 300},
		&Promise{Name: "L", Attempt: 4, Holder: info},
		&Reject{Name: "L", Attempt: 4, Promised: Ballot{Era: 9, Round: 1, Node: "zz"}, Holder: info},
		&Propose{Name: "L", Ballot: Ballot{Era: 1, Round: 2, Node: "a"}, Attempt: 70000, TTL: time.Second, LockDelay: 5, Value: []byte("v")},
		&Accepted{Name: "L", Attempt: 1 << 40},
		&Release{Name: "L", Ballot: Ballot{Era: 1, Round: 2, Node: "a"}},
		&Query{Name: "L", ID: 1},
		&QueryReply{Name: "L", ID: 1, Holder: info},
		&Vacant{Name: "L"},
		&Vacant{Name: "L", Pass: true},
	}
	dec := NewDecoder()
	for _, m := range all {
		full := encodeAll(t, "a", []Message{m})[0]
		for n := range len(full) {
			_, ms, err := dec.Decode(full[:n])
			if err == nil {
				t.Fatalf("%s truncated to %d of %d bytes decoded: %s", m.Type(), n, len(full), dumpMsgs(ms))
			}
			if !errors.Is(err, ErrDecode) || strings.Contains(err.Error(), "panic") {
				t.Fatalf("%s truncated to %d: %v", m.Type(), n, err)
			}
		}
	}
}

// Random bytes never panic the decoder, and whatever decodes re-encodes to
// the same messages (the same property as FuzzDecode, on cheap inputs).
func TestDecodeRandomBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		raw := rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "raw")
		if rapid.Bool().Draw(t, "header") {
			raw = append([]byte{WireVersion, 0xa1, 'a'}, raw...)
		}
		checkDecode(t, raw)
	})
}

// allocatedBy reports how many bytes f allocated.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A datagram is at most MaxDatagram bytes, so decoding one must allocate
// on that scale, whatever length a field's header claims: a 20-byte
// datagram announcing a 4 GiB value must not make the node allocate 4 GiB
// (64 MiB here, to keep the test quick)
// (found by FuzzDecode: the fuzzing workers ran out of memory).
func TestDecodeBoundedAllocation(t *testing.T) {
	bin32 := func(n uint32) func(*msgpack.Encoder, *bytes.Buffer) {
		return func(_ *msgpack.Encoder, b *bytes.Buffer) {
			b.Write([]byte{0xc6, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		}
	}
	str32 := func(n uint32) func(*msgpack.Encoder, *bytes.Buffer) {
		return func(_ *msgpack.Encoder, b *bytes.Buffer) {
			b.Write([]byte{0xdb, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		}
	}
	head := func(t MsgType, n int, fields ...any) func(*msgpack.Encoder, *bytes.Buffer) {
		return func(e *msgpack.Encoder, b *bytes.Buffer) {
			b.WriteByte(byte(t))
			_ = e.EncodeArrayLen(n)
			for _, f := range fields {
				_ = e.Encode(f)
			}
		}
	}
	cases := map[string][]byte{
		"propose value":        datagram(WireVersion, "a", head(TypePropose, 7, "L", 1, 2, 3, int64(time.Second), 0), bin32(64<<20)),
		"promise value":        datagram(WireVersion, "a", head(TypePromise, 7, "L", 1, "o", 1, 1, 5), bin32(64<<20)),
		"value after an error": datagram(WireVersion, "a", head(TypePropose, 7, 48, 1, 2, 3, int64(time.Second), 0), bin32(64<<20)),
		"lease name":           datagram(WireVersion, "a", head(TypeVacant, 1), str32(64<<20)),
		"owner":                datagram(WireVersion, "a", head(TypeQueryReply, 7, "L", 1), str32(64<<20)),
		"skipped field":        datagram(WireVersion, "a", head(TypeVacant, 2, "L"), bin32(64<<20)),
	}
	dec := NewDecoder()
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			var err error
			n := allocatedBy(func() { _, _, err = dec.Decode(raw) })
			if err == nil || !errors.Is(err, ErrDecode) {
				t.Fatalf("decoded: %v", err)
			}
			if n > 64<<10 {
				t.Fatalf("decoding a %d-byte datagram allocated %d bytes", len(raw), n)
			}
		})
	}
}

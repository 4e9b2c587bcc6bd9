package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// encodeFor encodes msgs for a peer of version wire and returns copies of
// the datagrams, each checked against MaxDatagram and its version byte.
func encodeFor(t tb, h Header, wire byte, msgs []Message) [][]byte {
	t.Helper()
	var out [][]byte
	err := NewEncoder().EncodeFor(h, wire, msgs, func(b []byte) {
		want := WireVersion
		switch {
		case wire >= WireVersionRuns:
			want = WireVersionRuns
		case h.ID.Epoch != 0:
			want = WireVersionEpoch
		}
		if b[0] != want || len(b) > MaxDatagram {
			t.Fatalf("datagram of version %d and %d bytes for a peer of version %d, want version %d", b[0], len(b), wire, want)
		}
		out = append(out, slices.Clone(b))
	})
	if err != nil {
		t.Fatalf("EncodeFor: %v", err)
	}
	return out
}

// genRun draws a burst of messages that can share a run: Proposes with one
// era, TTL, lock delay and flags (as a node's renewals are), or Accepteds;
// names from one family so that they share prefixes, ballots and attempts
// close together or at the edges of their ranges.
func genRun(from string) *rapid.Generator[[]Message] {
	return rapid.Custom(func(t *rapid.T) []Message {
		n := rapid.IntRange(1, 200).Draw(t, "n")
		prefix := rapid.SampledFrom([]string{"", "task/", "bench-hold-", "世界/", strings.Repeat("p", MaxNameLen-3)}).Draw(t, "prefix")
		era, ttl, ld := genU32.Draw(t, "era"), genTTL.Draw(t, "ttl"), genDur.Draw(t, "lockdelay")
		oneRound, withValue := rapid.Bool().Draw(t, "oneround"), rapid.Bool().Draw(t, "withvalue")
		accepted := rapid.Bool().Draw(t, "accepted")
		round := rapid.SampledFrom([]uint32{0, 1, 1 << 20, math.MaxUint32 - 5}).Draw(t, "round0")
		attempt := rapid.SampledFrom([]uint64{0, 7<<32 | 1, math.MaxUint64 - 3}).Draw(t, "attempt0")
		out := make([]Message, n)
		for i := range out {
			name := prefix + fmt.Sprintf("%0*d", rapid.IntRange(1, 3).Draw(t, "width"), rapid.IntRange(0, 999).Draw(t, "num"))
			if rapid.IntRange(0, 9).Draw(t, "far") == 0 {
				round, attempt = genU32.Draw(t, "round"), genU64.Draw(t, "attempt")
			} else {
				round += uint32(rapid.IntRange(0, 3).Draw(t, "dround"))
				attempt += uint64(rapid.IntRange(0, 3).Draw(t, "dattempt")) // wraps past the maximum
			}
			if accepted {
				out[i] = &Accepted{Name: name, Attempt: attempt}
				continue
			}
			p := &Propose{Name: name, Ballot: Ballot{Era: era, Round: round, Node: from}, Attempt: attempt, TTL: ttl, LockDelay: ld, OneRound: oneRound}
			if withValue {
				p.Value = rapid.SliceOfN(rapid.Byte(), 1, MaxValueLen).Draw(t, "value")
			}
			out[i] = p
		}
		return out
	})
}

// Any sequence of messages, runs of renewals and answers among them,
// decodes to the same messages in the same order, in the compact form for a
// peer of version 5 and in the old form for older peers.
func TestCompactRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		from := genNode.Draw(t, "from")
		var msgs []Message
		for range rapid.IntRange(1, 6).Draw(t, "chunks") {
			if rapid.Bool().Draw(t, "burst") {
				msgs = append(msgs, genRun(from).Draw(t, "run")...)
			} else {
				msgs = append(msgs, rapid.SliceOfN(genMessage(from), 1, 4).Draw(t, "msgs")...)
			}
		}
		h := Header{From: from, ID: testID}
		if rapid.Bool().Draw(t, "epoch") {
			h.ID.Epoch, h.ID.Genesis = rapid.Uint64Min(1).Draw(t, "epochn"), genU64.Draw(t, "genesis")
		}
		for _, wire := range []byte{WireVersion, WireVersionRuns} {
			if got := decodeAllH(t, h, encodeFor(t, h, wire, msgs)); !sameMessages(got, msgs) {
				t.Fatalf("round trip for version %d:\n got %s\nwant %s", wire, dumpMsgs(got), dumpMsgs(msgs))
			}
		}
	})
}

// A peer that advertises an older version gets exactly what Encode writes.
func TestEncodeForOlderPeer(t *testing.T) {
	msgs := renewals(200, "task/%06d", 1)
	for _, id := range []Identity{testID, {Cluster: "c", Voters: 1, Epoch: 3, Genesis: 2}} {
		h := Header{From: "a", ID: id}
		want := encodeAllH(t, h, msgs)
		for _, wire := range []byte{0, 1, 2, WireVersion, WireVersionEpoch} {
			if got := encodeFor(t, h, wire, msgs); !slices.EqualFunc(got, want, bytes.Equal) {
				t.Fatalf("identity %v, peer version %d: EncodeFor differs from Encode", id, wire)
			}
		}
		if got := encodeFor(t, h, WireVersionRuns, msgs); len(got) >= len(want) {
			t.Fatalf("identity %v: compact form takes %d datagrams, old form %d", id, len(got), len(want))
		}
	}
}

// compactHead is a valid version-5 header from "a" at epoch 0.
var compactHead = []byte{WireVersionRuns, 0xa1, 'a', 0xa1, 'c', 0x5a, 0x00, 0x00}

func uv(v uint64) []byte { return binary.AppendUvarint(nil, v) }
func sv(v int64) []byte  { return binary.AppendVarint(nil, v) }

// gram concatenates a header and parts into a datagram.
func gram(head []byte, parts ...[]byte) []byte {
	return slices.Concat(append([][]byte{head}, parts...)...)
}

// proposeRun is a Propose run's head: count, era 3, TTL 10 s, no lock
// delay, flags.
func proposeRun(count uint64, flags byte) []byte {
	return slices.Concat([]byte{runPropose}, uv(count), uv(3), uv(uint64(10*time.Second)), uv(0), []byte{flags})
}

// entry is a Propose run entry: shared prefix length, rest, round delta,
// attempt delta.
func entry(shared int, rest string, dround, dattempt int64) []byte {
	return slices.Concat(uv(uint64(shared)), uv(uint64(len(rest))), []byte(rest), sv(dround), sv(dattempt))
}

// The hand-built runs decode as the format says.
func TestCompactDecodeValid(t *testing.T) {
	raw := gram(compactHead, proposeRun(2, runOneRound), entry(0, "task/1", 9, 7<<32|1), entry(5, "2", -1, 1),
		[]byte{runAccepted}, uv(2), uv(0), uv(2), []byte("x1"), sv(5), uv(1), uv(1), []byte("2"), sv(-2))
	h, ms, err := NewDecoder().Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	b := func(r uint32) Ballot { return Ballot{Era: 3, Round: r, Node: "a"} }
	want := []Message{
		&Propose{Name: "task/1", Ballot: b(9), Attempt: 7<<32 | 1, TTL: 10 * time.Second, OneRound: true},
		&Propose{Name: "task/2", Ballot: b(8), Attempt: 7<<32 | 2, TTL: 10 * time.Second, OneRound: true},
		&Accepted{Name: "x1", Attempt: 5},
		&Accepted{Name: "x2", Attempt: 3},
	}
	if h != (Header{From: "a", ID: testID}) || !sameMessages(ms, want) {
		t.Fatalf("decoded %+v %s\nwant %s", h, dumpMsgs(ms), dumpMsgs(want))
	}
}

// Every malformed run refuses the whole datagram with an error that wraps
// ErrDecode, never a panic.
func TestCompactDecodeRejects(t *testing.T) {
	good := entry(0, "L", 1, 1)
	long := strings.Repeat("n", MaxNameLen)
	cases := []struct {
		name string
		raw  []byte
		is   error
	}{
		{"run in a version-3 datagram", gram([]byte{WireVersion, 0xa1, 'a', 0xa1, 'c', 0x5a}, proposeRun(1, 0), good), ErrMsgType},
		{"unknown run kind", gram(compactHead, []byte{runEnd}, uv(1), good), ErrMsgType},
		{"run kind 0xff", gram(compactHead, []byte{0xff}, uv(1), good), ErrMsgType},
		{"genesis at epoch 0", []byte{WireVersionRuns, 0xa1, 'a', 0xa1, 'c', 0x5a, 0x00, 0x07, byte(TypeAccepted), 0x92, 0xa1, 'L', 0x01}, ErrDecode},
		{"header cut in the epoch", []byte{WireVersionRuns, 0xa1, 'a', 0xa1, 'c', 0x5a}, ErrDecode},
		{"no entries", gram(compactHead, proposeRun(0, 0)), ErrDecode},
		{"count past the end", gram(compactHead, proposeRun(50, 0), good), ErrDecode},
		{"fewer entries than the count", gram(compactHead, proposeRun(2, 0), good), ErrDecode},
		{"count overflows", gram(compactHead, []byte{runAccepted}, bytes.Repeat([]byte{0xff}, 11)), ErrDecode},
		{"era above 32 bits", gram(compactHead, []byte{runPropose}, uv(1), uv(1<<32), uv(1), uv(0), []byte{0}, good), ErrDecode},
		{"zero TTL", gram(compactHead, []byte{runPropose}, uv(1), uv(3), uv(0), uv(0), []byte{0}, good), ErrDecode},
		{"TTL above int64", gram(compactHead, []byte{runPropose}, uv(1), uv(3), uv(1<<63), uv(0), []byte{0}, good), ErrDecode},
		{"lock delay above int64", gram(compactHead, []byte{runPropose}, uv(1), uv(3), uv(5), uv(math.MaxUint64), []byte{0}, good), ErrDecode},
		{"unknown flag", gram(compactHead, proposeRun(1, 1<<7), good), ErrDecode},
		{"flags missing", gram(compactHead, []byte{runPropose}, uv(1), uv(3), uv(5), uv(0)), ErrDecode},
		{"empty name", gram(compactHead, proposeRun(1, 0), entry(0, "", 1, 1)), ErrBadName},
		{"prefix of no previous name", gram(compactHead, proposeRun(1, 0), entry(1, "L", 1, 1)), ErrDecode},
		{"prefix longer than the previous name", gram(compactHead, proposeRun(2, 0), good, entry(2, "x", 1, 1)), ErrDecode},
		{"name too long", gram(compactHead, proposeRun(2, 0), entry(0, long, 1, 1), entry(MaxNameLen, "x", 1, 1)), ErrBadName},
		{"name with NUL", gram(compactHead, proposeRun(1, 0), entry(0, "a\x00b", 1, 1)), ErrBadName},
		{"name not UTF-8", gram(compactHead, proposeRun(2, 0), entry(0, "世", 1, 1), entry(1, "x", 1, 1)), ErrBadName},
		{"name past the end", gram(compactHead, proposeRun(1, 0), uv(0), uv(9), []byte("abc")), ErrDecode},
		{"round below 0", gram(compactHead, proposeRun(1, 0), entry(0, "L", -1, 1)), ErrDecode},
		{"round above 32 bits", gram(compactHead, proposeRun(2, 0), entry(0, "L", math.MaxUint32, 1), entry(0, "M", 1, 1)), ErrDecode},
		{"attempt missing", gram(compactHead, proposeRun(1, 0), uv(0), uv(1), []byte("L"), sv(1)), ErrDecode},
		{"attempt overflows", gram(compactHead, proposeRun(1, 0), uv(0), uv(1), []byte("L"), sv(1), bytes.Repeat([]byte{0xff}, 11)), ErrDecode},
		{"empty value", gram(compactHead, proposeRun(1, runValues), good, uv(0)), ErrDecode},
		{"value too long", gram(compactHead, proposeRun(1, runValues), good, uv(MaxValueLen+1), make([]byte, MaxValueLen+1)), ErrDecode},
		{"value past the end", gram(compactHead, proposeRun(1, runValues), good, uv(40), []byte("short")), ErrDecode},
		{"bad run spoils the datagram", gram(compactHead, []byte{byte(TypeVacant), 0x92, 0xa1, 'L', 0xc2}, proposeRun(1, 0), entry(0, "", 1, 1)), ErrDecode},
	}
	for _, c := range cases {
		h, ms, err := NewDecoder().Decode(c.raw)
		if err == nil || !errors.Is(err, ErrDecode) || !errors.Is(err, c.is) || ms != nil || h != (Header{}) {
			t.Errorf("%s: Decode = %+v, %d messages, %v; want an error wrapping %v", c.name, h, len(ms), err, c.is)
			continue
		}
		if strings.Contains(err.Error(), "panic") {
			t.Errorf("%s: %v", c.name, err)
		}
		checkDecode(t, c.raw) // FuzzDecode's property holds for it too
	}
}

// compactSeeds are FuzzDecode seeds of the compact form: runs of each kind
// (with and without values and flags, across a datagram boundary) and
// broken runs.
func compactSeeds(t tb) map[string][]byte {
	h := Header{From: "a", ID: testID}
	withValues := renewals(3, "k%d", 1)
	for _, m := range withValues {
		m.(*Propose).Value = []byte("10.0.0.1:80")
	}
	mixed := slices.Concat(renewals(4, "task/%06d", 1), []Message{&Prepare{Name: "leader", Ballot: Ballot{Era: 2, Round: 1, Node: "a"}, Attempt: 9}}, answers(renewals(4, "hold-%05d", 2)))
	return map[string][]byte{
		"runs-propose":        encodeFor(t, h, WireVersionRuns, renewals(5, "bench-hold-%06d", 1))[0],
		"runs-accepted":       encodeFor(t, h, WireVersionRuns, answers(renewals(5, "task/%06d", 1)))[0],
		"runs-values":         encodeFor(t, h, WireVersionRuns, withValues)[0],
		"runs-mixed":          encodeFor(t, h, WireVersionRuns, mixed)[0],
		"runs-epoch":          encodeFor(t, Header{From: "a", ID: Identity{Cluster: "c", Voters: 5, Epoch: 2, Genesis: 9}}, WireVersionRuns, renewals(3, "e%d", 1))[0],
		"runs-second-gram":    encodeFor(t, h, WireVersionRuns, renewals(400, "bench-hold-%06d", 3))[1],
		"broken-runs-count":   gram(compactHead, proposeRun(3, 0), entry(0, "L", 1, 1)),
		"broken-runs-prefix":  gram(compactHead, proposeRun(2, 0), entry(0, "L", 1, 1), entry(4, "x", 1, 1)),
		"broken-runs-flags":   gram(compactHead, proposeRun(1, 0x40), entry(0, "L", 1, 1)),
		"broken-runs-v3":      gram([]byte{WireVersion, 0xa1, 'a', 0xa1, 'c', 0x5a}, []byte{runAccepted}, uv(1), uv(0), uv(1), []byte("L"), sv(1)),
		"broken-runs-round":   gram(compactHead, proposeRun(1, 0), entry(0, "L", -4, 1)),
		"broken-runs-novalue": gram(compactHead, proposeRun(1, runValues), entry(0, "L", 1, 1), uv(0)),
	}
}

// renewals is n renewal Proposes from "a" named by format, as a holder
// sends them in one tick: one era and TTL, rounds spread in acquisition
// order and shuffled by stride (the timer heap's order), attempts
// consecutive.
func renewals(n int, format string, stride int) []Message {
	out := make([]Message, n)
	for i := range out {
		j := (i * stride) % n
		if stride > 1 {
			j = (i*stride + i/7) % n
		}
		out[i] = &Propose{Name: fmt.Sprintf(format, j), Ballot: Ballot{Era: 3, Round: 1000 + uint32(j), Node: "a"},
			Attempt: 5<<32 | uint64(40000+i), TTL: 10 * time.Second}
	}
	return out
}

// answers is a voter's Accepted for each Propose, in order.
func answers(ps []Message) []Message {
	out := make([]Message, len(ps))
	for i, m := range ps {
		p := m.(*Propose)
		out[i] = &Accepted{Name: p.Name, Attempt: p.Attempt}
	}
	return out
}

package node

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/hashicorp/memberlist"

	"github.com/tenure-dev/tenure/protocol"
)

var (
	testKey      = bytes.Repeat([]byte{0x5a}, 32)
	testOtherKey = bytes.Repeat([]byte{0xa5}, 16)
)

func testKeyring(t testing.TB, primary []byte, others ...[]byte) *memberlist.Keyring {
	t.Helper()
	if primary == nil {
		return nil
	}
	kr, err := memberlist.NewKeyring(others, primary)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func testCodec(t testing.TB, label string, kr *memberlist.Keyring) *directCodec {
	t.Helper()
	c, err := newDirectCodec(label, kr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustSeal(t testing.TB, c *directCodec, payload []byte) []byte {
	t.Helper()
	b, err := c.seal(nil, payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every combination of label and key opens what it sealed, and refuses
// what another combination sealed as foreign.
func TestDirectCodecRoundTripAndForeign(t *testing.T) {
	payload := encodeOne(t, protocol.Identity{Cluster: "c", Voters: 7}, "x",
		&protocol.Prepare{Name: "n", Ballot: protocol.Ballot{Era: 1, Round: 2, Node: "x"}, Attempt: 1})
	type setup struct {
		name, label string
		key         []byte
	}
	setups := []setup{
		{"plain, no label", "", nil},
		{"plain, label", "tenure", nil},
		{"plain, other label", "other", nil},
		{"key, no label", "", testKey},
		{"key, label", "tenure", testKey},
		{"key, other label", "other", testKey},
		{"other key, label", "tenure", testOtherKey},
	}
	for i, s := range setups {
		c := testCodec(t, s.label, testKeyring(t, s.key))
		b := mustSeal(t, c, payload)
		if b[0] != directMagic {
			t.Fatalf("%s: first byte %#x", s.name, b[0])
		}
		if s.key != nil && bytes.Contains(b, payload) {
			t.Fatalf("%s: the payload travels in the clear", s.name)
		}
		for j, o := range setups {
			p, err := testCodec(t, o.label, testKeyring(t, o.key)).open(nil, b)
			switch {
			case i == j && (err != nil || !bytes.Equal(p, payload)):
				t.Fatalf("%s: own datagram: %v", s.name, err)
			case i != j && !errors.Is(err, errDirectForeign):
				t.Fatalf("sealed by %q, opened by %q: got %v, want errDirectForeign", s.name, o.name, err)
			}
		}
	}
}

// A keyring's other keys open datagrams sealed with them (a key being
// rotated in or out), as memberlist's own packets do.
func TestDirectCodecKeyring(t *testing.T) {
	payload := []byte{protocol.WireVersion, 1, 2, 3}
	old := mustSeal(t, testCodec(t, "L", testKeyring(t, testOtherKey)), payload)
	both := testCodec(t, "L", testKeyring(t, testKey, testOtherKey))
	if p, err := both.open(nil, old); err != nil || !bytes.Equal(p, payload) {
		t.Fatalf("secondary key: %v", err)
	}
	newer := mustSeal(t, both, payload) // sealed with the primary key
	if _, err := testCodec(t, "L", testKeyring(t, testOtherKey)).open(nil, newer); !errors.Is(err, errDirectForeign) {
		t.Fatalf("primary key opened by a ring without it: %v", err)
	}
	if p, err := testCodec(t, "L", testKeyring(t, testKey)).open(nil, newer); err != nil || !bytes.Equal(p, payload) {
		t.Fatalf("primary key: %v", err)
	}
}

// Truncated, altered, oversized and badly framed datagrams are refused,
// each with the right reason, and never half-decoded.
func TestDirectCodecRefusesDamage(t *testing.T) {
	payload := encodeOne(t, protocol.Identity{Cluster: "c", Voters: 7}, "x", &protocol.Vacant{Name: "n"})
	sealed := testCodec(t, "tenure", testKeyring(t, testKey))
	good := mustSeal(t, sealed, payload)
	for cut := range len(good) {
		if _, err := sealed.open(nil, good[:cut]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: opened", cut, len(good))
		}
	}
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		if _, err := sealed.open(nil, b); err == nil {
			t.Fatalf("byte %d altered: opened", i)
		}
	}
	header := sealed.header
	for name, c := range map[string]struct {
		b    []byte
		want error
	}{
		"empty":          {nil, errDirectMalformed},
		"magic only":     {[]byte{directMagic}, errDirectMalformed},
		"not magic":      {append([]byte{protocol.WireVersion}, good[1:]...), errDirectMalformed},
		"label cut":      {[]byte{directMagic, 244}, errDirectMalformed},
		"label short":    {[]byte{directMagic, 244, 6, 't', 'e'}, errDirectMalformed},
		"empty label":    {[]byte{directMagic, 244, 0, directSealed}, errDirectMalformed},
		"no kind":        {header[:len(header)-1], errDirectMalformed},
		"unknown kind":   {append(bytes.Clone(header[:len(header)-1]), 7, 1, 2, 3), errDirectMalformed},
		"short seal":     {append(bytes.Clone(header), make([]byte, directSealOverhead-1)...), errDirectMalformed},
		"oversized":      {append(bytes.Clone(header), make([]byte, maxDirect)...), errDirectMalformed},
		"plain here":     {mustSeal(t, testCodec(t, "tenure", nil), payload), errDirectForeign},
		"no label":       {mustSeal(t, testCodec(t, "", testKeyring(t, testKey)), payload), errDirectForeign},
		"garbage sealed": {append(bytes.Clone(header), make([]byte, 64)...), errDirectForeign},
	} {
		if _, err := sealed.open(nil, c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	// A keyless node refuses sealed datagrams as foreign.
	if _, err := testCodec(t, "tenure", nil).open(nil, good); !errors.Is(err, errDirectForeign) {
		t.Fatalf("sealed datagram at a keyless node: %v", err)
	}
}

// The reader hands out payloads that do not share memory: the owner
// goroutine may still hold one when the next arrives.
func TestDirectReaderPayloadsAreIndependent(t *testing.T) {
	c := testCodec(t, "L", testKeyring(t, testKey))
	r := &directReader{codec: c.clone()}
	rng := rand.New(rand.NewPCG(3, 4))
	var got, want [][]byte
	for i := range 200 { // crosses several slabs
		p := make([]byte, 1+rng.IntN(protocol.MaxDatagram))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		b := mustSeal(t, c, p)
		o, err := r.open(b)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		clear(b) // the read loop reuses its buffer
		if cap(o) != len(o) {
			t.Fatalf("datagram %d: payload capacity %d over its length %d", i, cap(o), len(o))
		}
		got, want = append(got, o), append(want, p)
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("payload %d changed after later datagrams", i)
		}
	}
}

// fuzzCodecs are the receiving setups FuzzDirectDatagram tries: plaintext
// with a label, sealed with a label, sealed without one.
func fuzzCodecs(t testing.TB) []*directCodec {
	return []*directCodec{
		testCodec(t, DefaultLabel, nil),
		testCodec(t, DefaultLabel, testKeyring(t, testKey)),
		testCodec(t, "", testKeyring(t, testKey)),
	}
}

// FuzzDirectDatagram: the direct path's receive side (framing, label,
// decryption, then the protocol decoder) never panics on any input; every
// refusal names its reason (malformed or foreign), and what it accepts
// seals and opens back to the same payload.
//
//	go test ./node -run '^$' -fuzz FuzzDirectDatagram -fuzztime 20s
func FuzzDirectDatagram(f *testing.F) {
	var payload []byte
	err := protocol.NewEncoder().Encode(protocol.Header{From: "x", ID: protocol.Identity{Cluster: "tenure", Voters: 1}},
		[]protocol.Message{&protocol.Prepare{Name: "n", Ballot: protocol.Ballot{Era: 1, Round: 1, Node: "x"}, Attempt: 1}},
		func(b []byte) { payload = bytes.Clone(b) })
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range fuzzCodecs(f) {
		f.Add(mustSeal(f, c, payload))
	}
	f.Add([]byte{directMagic})
	f.Add([]byte{directMagic, 244, 6})
	codecs := fuzzCodecs(f) // inputs run one at a time in each process
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range codecs {
			r := &directReader{codec: c}
			p, err := r.open(b)
			if err != nil {
				if !errors.Is(err, errDirectMalformed) && !errors.Is(err, errDirectForeign) {
					t.Fatalf("refusal without a reason: %v", err)
				}
				continue
			}
			if len(p) > len(b) {
				t.Fatalf("payload of %d bytes from a datagram of %d", len(p), len(b))
			}
			_, _, _ = protocol.NewDecoder().Decode(p) // must not panic
			again, err := c.open(nil, mustSeal(t, c, p))
			if err != nil || !bytes.Equal(again, p) {
				t.Fatalf("resealed payload: %v", err)
			}
		}
	})
}

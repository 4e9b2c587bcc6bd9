package protocol

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// holdBatch is what a holder of n leases sends one voter in one renewal
// tick: renewals of names made by format, acquired in order (rounds and
// names rise together) and due in the timer heap's order (shuffled with
// seed), attempts consecutive in sending order. The node's own
// name is "bench-holder-0", as in tenure bench.
func holdBatch(n int, format string, seed uint64) []Message {
	idx := rand.New(rand.NewPCG(seed, 1)).Perm(n)
	out := make([]Message, n)
	for i, j := range idx {
		out[i] = &Propose{Name: fmt.Sprintf(format, j), Ballot: Ballot{Era: 2, Round: 7 + uint32(j), Node: "bench-holder-0"},
			Attempt: 1234567<<32 | uint64(100000+i), TTL: 10 * time.Second}
	}
	return out
}

// fieldSizes is the msgpack size of each field of a Propose in its own
// form: what a renewal costs today, field by field.
func fieldSizes(p *Propose) [][2]any {
	size := func(f func(*msgpack.Encoder) error) int {
		var b bytes.Buffer
		_ = f(msgpack.NewEncoder(&b))
		return b.Len()
	}
	return [][2]any{
		{"type byte", 1},
		{"array header", size(func(e *msgpack.Encoder) error { return e.EncodeArrayLen(8) })},
		{"name", size(func(e *msgpack.Encoder) error { return e.EncodeString(p.Name) })},
		{"era (uint32)", size(func(e *msgpack.Encoder) error { return e.EncodeUint32(p.Ballot.Era) })},
		{"round (uint32)", size(func(e *msgpack.Encoder) error { return e.EncodeUint32(p.Ballot.Round) })},
		{"attempt", size(func(e *msgpack.Encoder) error { return e.EncodeUint(p.Attempt) })},
		{"TTL (ns)", size(func(e *msgpack.Encoder) error { return e.EncodeInt(int64(p.TTL)) })},
		{"lock delay", size(func(e *msgpack.Encoder) error { return e.EncodeInt(int64(p.LockDelay)) })},
		{"value", size(func(e *msgpack.Encoder) error { return e.EncodeBytes(p.Value) })},
		{"one-round flag", size(func(e *msgpack.Encoder) error { return e.EncodeBool(p.OneRound) })},
	}
}

// wireCost encodes msgs for a peer of version wire and returns the bytes
// and datagrams it takes.
func wireCost(t *testing.T, h Header, wire byte, msgs []Message) (size, grams int) {
	for _, g := range encodeFor(t, h, wire, msgs) {
		size += len(g)
		grams++
	}
	return size, grams
}

// A batch of renewals, and the voter's answers, cost at most 20 bytes each
// on the wire in the compact form, datagram headers included: what 10^5
// leases at TTL 10 s need to stay under 300 datagrams/s to each voter
// (issue 16). Run with -v for the field-by-field cost of the old form.
func TestRenewalWireSize(t *testing.T) {
	h := Header{From: "bench-holder-0", ID: Identity{Cluster: "tenure-bench", Voters: 0x9e3779b97f4a7c15}}
	const n = 5000
	for _, format := range []string{"bench-hold-%06d", "task/%06d", "hold-%05d"} {
		props := holdBatch(n, format, 1)
		if format == "bench-hold-%06d" {
			var sum int
			for _, f := range fieldSizes(props[0].(*Propose)) {
				t.Logf("  old form, %-16s %3d bytes", f[0], f[1])
				sum += f[1].(int)
			}
			t.Logf("  old form, one renewal        %3d bytes", sum)
		}
		for _, c := range []struct {
			what string
			msgs []Message
		}{{"renewals", props}, {"accepteds", answers(props)}} {
			oldB, oldG := wireCost(t, h, WireVersion, c.msgs)
			newB, newG := wireCost(t, h, WireVersionRuns, c.msgs)
			per := float64(newB) / n
			t.Logf("%-16s %d %s: old %5.1f B each, %3d datagrams; compact %4.1f B each, %3d datagrams",
				format, n, c.what, float64(oldB)/n, oldG, per, newG)
			if per > 20 {
				t.Errorf("%s %s: %.1f bytes each in the compact form, want at most 20", format, c.what, per)
			}
		}
	}
}

// BenchmarkEncodeBatchCompact is BenchmarkEncodeBatch in the compact form
// (a peer of WireVersionRuns), with the renewals in the timer heap's order.
func BenchmarkEncodeBatchCompact(b *testing.B) {
	enc := NewEncoder()
	msgs := holdBatch(10000, "lease-%d", 1)
	h := Header{From: "bench-holder-0"}
	b.ReportAllocs()
	var n, size int
	for b.Loop() {
		n, size = 0, 0
		_ = enc.EncodeFor(h, WireVersionRuns, msgs, func(p []byte) { n++; size += len(p) })
	}
	b.ReportMetric(float64(n), "datagrams/10k")
	b.ReportMetric(float64(size)/10000, "B/renewal")
}

// BenchmarkDecodeBatch decodes the datagrams of 10,000 renewals in the
// old form and in the compact form: the voter's side.
func BenchmarkDecodeBatch(b *testing.B) {
	for _, wire := range []byte{WireVersion, WireVersionRuns} {
		b.Run(fmt.Sprintf("wire=%d", wire), func(b *testing.B) {
			var grams [][]byte
			_ = NewEncoder().EncodeFor(Header{From: "bench-holder-0"}, wire, holdBatch(10000, "lease-%d", 1), func(p []byte) { grams = append(grams, bytes.Clone(p)) })
			dec := NewDecoder()
			b.ReportAllocs()
			for b.Loop() {
				for _, g := range grams {
					if _, _, err := dec.Decode(g); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

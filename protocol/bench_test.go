package protocol

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// BenchmarkEncodeDecode measures one Propose through the wire codec: the
// cost the simulator and the node pay per message.
func BenchmarkEncodeDecode(b *testing.B) {
	enc, dec := NewEncoder(), NewDecoder()
	msgs := []Message{&Propose{Name: "lease-42", Ballot: Ballot{Era: 7, Round: 1234, Node: "node-a"}, Attempt: 99, TTL: 2 * time.Second, Value: []byte("10.0.0.1:80")}}
	b.ReportAllocs()
	for b.Loop() {
		_ = enc.Encode(Header{From: "node-a"}, msgs, func(p []byte) {
			if _, _, err := dec.Decode(p); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkEncodeBatch measures packing 10,000 renewals for one peer into
// datagrams: the renewal path of a node that holds many leases.
func BenchmarkEncodeBatch(b *testing.B) {
	enc := NewEncoder()
	msgs := make([]Message, 10000)
	for i := range msgs {
		msgs[i] = &Propose{Name: "lease-" + strconv.Itoa(i), Ballot: Ballot{Era: 7, Round: uint32(i), Node: "node-a"}, Attempt: uint64(i), TTL: 10 * time.Second}
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = 0
		_ = enc.Encode(Header{From: "node-a"}, msgs, func([]byte) { n++ })
	}
	b.ReportMetric(float64(n), "datagrams/10k")
}

// BenchmarkAcquireRelease measures the machine alone: a three-voter cluster
// in memory (no codec), one acquire and release per iteration.
func BenchmarkAcquireRelease(b *testing.B) {
	voters := []string{"a", "b", "c"}
	ms := map[string]*Machine{}
	for _, v := range voters {
		m, err := New(Config{Self: v, Voters: voters}, Start{Kind: StartFresh}, rand.New(rand.NewPCG(1, 2)), 1)
		if err != nil {
			b.Fatal(err)
		}
		ms[v] = m
	}
	now := Time(1)
	var queue []Envelope
	var from []string
	pump := func(self string) {
		out := ms[self].Ready()
		for _, e := range out.Messages {
			queue = append(queue, e)
			from = append(from, self)
		}
	}
	deliver := func() {
		for len(queue) > 0 {
			e, f := queue[0], from[0]
			queue, from = queue[1:], from[1:]
			ms[e.To].Step(now, f, e.Msg)
			pump(e.To)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		now += 1000
		if err := ms["a"].Acquire(now, AcquireRequest{Name: "L", Wait: true}); err != nil {
			b.Fatal(err)
		}
		pump("a")
		deliver()
		tok, _, ok := ms["a"].Holding("L")
		if !ok {
			b.Fatal("not acquired")
		}
		if err := ms["a"].Release(now, "L", tok); err != nil {
			b.Fatal(err)
		}
		ms["a"].Tick(now)
		pump("a")
		deliver()
	}
}

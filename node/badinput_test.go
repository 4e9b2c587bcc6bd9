package node

import (
	"bytes"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// frame wraps a payload as memberlist carries a user message on UDP with a
// cluster label and no encryption: the label header, then the user-message
// type byte (8 in memberlist's wire enum), then the payload.
func frame(label string, payload []byte) []byte {
	b := []byte{244, byte(len(label))}
	b = append(b, label...)
	b = append(b, 8)
	return append(b, payload...)
}

func encodeOne(t *testing.T, id protocol.Identity, from string, m protocol.Message) []byte {
	t.Helper()
	var out []byte
	if err := protocol.NewEncoder().Encode(protocol.Header{From: from, ID: id}, []protocol.Message{m}, func(b []byte) { out = bytes.Clone(b) }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Garbage, truncated, oversized, misversioned and spoofed datagrams are
// dropped and counted; the node keeps serving.
func TestBadInputDroppedAndCounted(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	a := c.nodes["a"]

	id := a.m.ID() // set once at New, read-only after
	valid := encodeOne(t, id, "ghost", &protocol.Prepare{Name: "bad", Ballot: protocol.Ballot{Era: 1, Round: 1, Node: "ghost"}, Attempt: 1})
	var payloads [][]byte
	for range 20 { // random garbage
		g := make([]byte, 1+rng.IntN(300))
		for i := range g {
			g[i] = byte(rng.Uint32())
		}
		payloads = append(payloads, g)
	}
	for cut := 1; cut < len(valid); cut += 3 { // every truncation
		payloads = append(payloads, valid[:cut])
	}
	big := append([]byte{protocol.WireVersion}, make([]byte, 2000)...)
	payloads = append(payloads,
		big,                              // oversized
		append([]byte{99}, valid[1:]...), // unknown wire version
		encodeOne(t, id, "a", &protocol.Vacant{Name: "bad"}), // spoofs the receiver itself
	)
	wantMalformed := uint64(len(payloads))
	// Garbage memberlist itself refuses (no label): never reaches the node.
	payloads = append(payloads, []byte("GET / HTTP/1.0\r\n\r\n"))

	conn, err := net.Dial("udp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, p := range payloads {
		b := frame(DefaultLabel, p)
		if i == len(payloads)-1 {
			b = p
		}
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	// A valid Prepare from a node nobody knows: answered, but the answer
	// has nowhere to go (counted as unroutable), and nothing breaks.
	if _, err := conn.Write(frame(DefaultLabel, valid)); err != nil {
		t.Fatal(err)
	}

	// Datagrams arrive through memberlist's queue with no event to wait on:
	// poll the counters, within a generous deadline.
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := a.Stats()
		if s.DroppedMalformed >= wantMalformed && s.DroppedUnroutable >= 1 {
			if s.DroppedMalformed > wantMalformed {
				t.Fatalf("dropped %d datagrams, sent %d malformed", s.DroppedMalformed, wantMalformed)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %+v, want %d malformed and an unroutable answer (UDP loss on loopback is possible but rare)", s, wantMalformed)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Still serving, as a voter and as a proposer.
	l := mustAcquire(t, c.nodes["b"], "after-garbage")
	if err := l.Release(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	mustAcquire(t, a, "after-garbage-2")
}

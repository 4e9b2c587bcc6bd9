package node

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// waitFor polls cond (counters with no event to wait on) within a generous
// deadline; what reports the state on failure.
func waitFor(t testing.TB, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %s", what())
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
}

// Acquire, renewal, Holder and release go over the direct path, with and
// without an encryption key, with the default and another label; with
// MemberlistDatagrams a node sends through memberlist and is still
// understood.
func TestDirectPathAcquireRenewRelease(t *testing.T) {
	for _, tc := range []struct {
		name  string
		label string
		key   []byte
		old   bool // x sends through memberlist
	}{
		{name: "plain"},
		{name: "label", label: "prod-east"},
		{name: "key", key: testKey},
		{name: "key+label", label: "prod-east", key: testKey},
		{name: "key+label, x via memberlist", label: "prod-east", key: testKey, old: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, []string{"a", "b", "c"}, []string{"x", "y"}, func(cfg *Config) {
				cfg.Label, cfg.SecretKey = tc.label, tc.key
				cfg.MemberlistDatagrams = tc.old && cfg.Name == "x"
			})
			x, y := c.nodes["x"], c.nodes["y"]
			l := mustAcquire(t, x, "leader", WithTTL(400*time.Millisecond), WithValue([]byte("v")))
			// Renewals at about half the TTL: wait for some.
			waitFor(t, func() string { return fmt.Sprintf("no renewal: %+v", x.Stats()) },
				func() bool { return x.Stats().Renewal.Count >= 3 })
			if err := l.Err(); err != nil {
				t.Fatalf("lease lost while renewing: %v", err)
			}
			h, err := y.Holder(ctx(t, 10*time.Second), "leader")
			if err != nil || h.Node != "x" || h.Token != l.Token() || !bytes.Equal(h.Value, []byte("v")) {
				t.Fatalf("Holder = %+v, %v; want x with token %d", h, err, l.Token())
			}
			if err := l.Release(ctx(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			l2 := mustAcquire(t, y, "leader")
			if l2.Token() <= l.Token() {
				t.Fatalf("token %d not above %d", l2.Token(), l.Token())
			}

			xs := x.Stats()
			if tc.old {
				if got := x.stats.directOut.Load(); got != 0 {
					t.Fatalf("x sent %d direct datagrams with MemberlistDatagrams", got)
				}
			} else if got := x.stats.directOut.Load(); got != xs.PacketsSent || got == 0 {
				t.Fatalf("x sent %d datagrams, %d of them direct: want all", xs.PacketsSent, got)
			}
			for _, name := range []string{"a", "b", "c", "x", "y"} {
				s := c.nodes[name].Stats()
				if s.DroppedForeign+s.DroppedMalformed+s.SendErrors != 0 {
					t.Fatalf("%s: %+v", name, s)
				}
				// Every protocol datagram y and the voters sent went direct,
				// so every node received some directly.
				if c.nodes[name].stats.directIn.Load() == 0 {
					t.Fatalf("%s received no direct datagram: %+v", name, s)
				}
			}
		})
	}
}

// A node with another key, another label, or no key cannot take part: the
// voters drop its direct datagrams and count them, it acquires nothing,
// and it causes no second holder. The control, a node set up the same way
// but with the cluster's key and label, does acquire, so what stops the
// others is the key or the label alone.
//
// Such a node cannot join the cluster's gossip either (memberlist refuses
// it the same way), so each starts alone and is given the voters' routes
// by hand, and the voters its route: everything but the key and the label
// is as for a member.
func TestDirectPathRefusesOtherKeyOrLabel(t *testing.T) {
	const label = "prod-east"
	c := newCluster(t, []string{"a", "b", "c"}, []string{"y"}, func(cfg *Config) {
		cfg.Label, cfg.SecretKey = label, testKey
	})
	y := c.nodes["y"]
	held := mustAcquire(t, y, "leader")

	outsider := func(name, label string, key []byte) *Node {
		t.Helper()
		n, err := New(Config{Name: name, BindAddr: "127.0.0.1", Voters: c.voters, Label: label, SecretKey: key, Logger: testLogger(name)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Shutdown() })
		for _, v := range c.voters {
			n.peers.put(c.nodes[v].ml.LocalNode())
			c.nodes[v].peers.put(n.ml.LocalNode())
		}
		return n
	}
	foreign := func() (sum uint64) {
		for _, v := range c.voters {
			sum += c.nodes[v].Stats().DroppedForeign
		}
		return sum
	}

	control := outsider("ok", label, testKey)
	l, err := control.Acquire(ctx(t, 20*time.Second), "control")
	if err != nil {
		t.Fatalf("control node with the cluster's key and label: %v", err)
	}
	if err := l.Release(ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if f := foreign(); f != 0 {
		t.Fatalf("control: %d datagrams dropped as foreign", f)
	}

	for _, o := range []struct {
		name, label string
		key         []byte
	}{
		{"other-key", label, testOtherKey},
		{"other-label", "prod-west", testKey},
		{"no-key", label, nil},
	} {
		n := outsider(o.name, o.label, o.key)
		before := foreign()
		names := []string{"free", "leader"}
		errs := make(chan error, len(names))
		for _, name := range names {
			go func() {
				l, err := n.TryAcquire(ctx(t, 3*time.Second), name)
				if err == nil {
					err = fmt.Errorf("%s acquired %q (token %d)", o.name, name, l.Token())
				} else {
					err = nil
				}
				errs <- err
			}()
		}
		for range names {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if after := foreign(); after <= before {
			t.Fatalf("%s: voters counted %d foreign datagrams before its attempts, %d after", o.name, before, after)
		}
		if got := n.Stats().Held; got != 0 {
			t.Fatalf("%s holds %d tenures", o.name, got)
		}
	}
	// No second holder: y still holds, and the voters still say so.
	if err := held.Err(); err != nil {
		t.Fatalf("y lost its lease: %v", err)
	}
	h, err := y.Holder(ctx(t, 10*time.Second), "leader")
	if err != nil || h.Node != "y" || h.Token != held.Token() {
		t.Fatalf("Holder = %+v, %v; want y with token %d", h, err, held.Token())
	}
	if _, err := y.Holder(ctx(t, 10*time.Second), "free"); !errors.Is(err, ErrNoHolder) {
		t.Fatalf("Holder(free) = %v, want ErrNoHolder", err)
	}
}

// Garbage with the direct path's first byte is dropped and counted, each
// datagram exactly once and for its reason; the node keeps serving.
func TestDirectPathGarbageCounted(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	const label = "prod-east"
	c := newCluster(t, []string{"a", "b", "c"}, nil, func(cfg *Config) {
		cfg.Label, cfg.SecretKey = label, testKey
	})
	a := c.nodes["a"]
	codec := testCodec(t, label, testKeyring(t, testKey))
	valid := encodeOne(t, a.m.ID(), "ghost", &protocol.Prepare{Name: "bad", Ballot: protocol.Ballot{Era: 1, Round: 1, Node: "ghost"}, Attempt: 1})
	good := mustSeal(t, codec, valid)

	var malformed, foreign, either [][]byte
	for cut := 1; cut < len(codec.header)+directSealOverhead; cut++ { // framing cut short
		malformed = append(malformed, good[:cut])
	}
	malformed = append(malformed,
		append(bytes.Clone(codec.header), make([]byte, maxDirect)...),                  // oversized
		mustSeal(t, codec, []byte("not a protocol datagram")),                          // sealed garbage
		mustSeal(t, codec, valid[:len(valid)-2]),                                       // sealed, truncated inside
		mustSeal(t, codec, encodeOne(t, a.m.ID(), "a", &protocol.Vacant{Name: "bad"})), // claims to be a
	)
	for cut := len(codec.header) + directSealOverhead; cut < len(good); cut += 5 { // seal cut short
		foreign = append(foreign, good[:cut])
	}
	foreign = append(foreign,
		mustSeal(t, testCodec(t, label, testKeyring(t, testOtherKey)), valid),
		mustSeal(t, testCodec(t, "prod-west", testKeyring(t, testKey)), valid),
		mustSeal(t, testCodec(t, label, nil), valid),
	)
	for range 30 { // random bytes after the magic: refused, for one reason or the other
		g := make([]byte, 1+rng.IntN(300))
		for i := range g {
			g[i] = byte(rng.Uint32())
		}
		either = append(either, append([]byte{directMagic}, g...))
	}

	conn, err := net.Dial("udp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s0 := a.Stats()
	sent := 0
	for _, set := range [][][]byte{malformed, foreign, either} {
		for _, b := range set {
			if _, err := conn.Write(b); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	// The control: a valid sealed Prepare from a node nobody knows is
	// taken, answered, and the answer has nowhere to go.
	if _, err := conn.Write(good); err != nil {
		t.Fatal(err)
	}
	dropped := func(s Stats) uint64 {
		return s.DroppedMalformed + s.DroppedForeign - s0.DroppedMalformed - s0.DroppedForeign
	}
	waitFor(t, func() string {
		return fmt.Sprintf("%+v; sent %d bad datagrams (UDP loss on loopback is possible but rare)", a.Stats(), sent)
	},
		func() bool {
			s := a.Stats()
			return dropped(s) >= uint64(sent) && s.DroppedUnroutable > s0.DroppedUnroutable
		})
	s := a.Stats()
	if dropped(s) != uint64(sent) {
		t.Fatalf("dropped %d, sent %d bad datagrams", dropped(s), sent)
	}
	if m := s.DroppedMalformed - s0.DroppedMalformed; m < uint64(len(malformed)) {
		t.Fatalf("%d counted malformed, want at least %d", m, len(malformed))
	}
	if f := s.DroppedForeign - s0.DroppedForeign; f < uint64(len(foreign)) {
		t.Fatalf("%d counted foreign, want at least %d", f, len(foreign))
	}
	mustAcquire(t, c.nodes["b"], "after-garbage")
}

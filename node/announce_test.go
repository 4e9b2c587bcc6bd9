package node

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

func TestAnnouncementRoundTrip(t *testing.T) {
	for _, a := range []announcement{
		{kind: annTenure, name: "leader", node: "x", token: 1<<32 | 7, remaining: 1500 * time.Millisecond, value: []byte("10.0.0.1:80")},
		{kind: annEnded, name: "leader", node: "x", token: 1<<32 | 7},
		{kind: annTenure, name: strings.Repeat("n", protocol.MaxNameLen), node: strings.Repeat("h", protocol.MaxNodeNameLen),
			token: 1<<64 - 1, remaining: 1<<63 - 1, value: bytes.Repeat([]byte{0xff}, protocol.MaxValueLen)},
	} {
		b := a.encode(nil)
		if b[0] == protocol.WireVersion {
			t.Fatal("announcement tag collides with the protocol's wire version")
		}
		got, err := decodeAnnouncement(b)
		if err != nil {
			t.Fatalf("decode %+v: %v", a, err)
		}
		if got.kind != a.kind || got.name != a.name || got.node != a.node || got.token != a.token ||
			got.remaining != a.remaining || !bytes.Equal(got.value, a.value) {
			t.Fatalf("round trip: got %+v, want %+v", got, a)
		}
	}
}

func TestAnnouncementRefusesBadInput(t *testing.T) {
	good := announcement{kind: annTenure, name: "L", node: "x", token: 5, remaining: time.Second, value: []byte("v")}
	enc := func(edit func(*announcement)) []byte {
		a := good
		edit(&a)
		return a.encode(nil)
	}
	valid := good.encode(nil)
	for name, b := range map[string][]byte{
		"empty":          nil,
		"protocol tag":   append([]byte{protocol.WireVersion}, valid[1:]...),
		"short header":   valid[:annFixed-1],
		"unknown kind":   enc(func(a *announcement) { a.kind = 9 }),
		"zero kind":      enc(func(a *announcement) { a.kind = 0 }),
		"zero token":     enc(func(a *announcement) { a.token = 0 }),
		"negative":       enc(func(a *announcement) { a.remaining = 0 }), // patched below
		"empty name":     enc(func(a *announcement) { a.name = "" }),
		"control char":   enc(func(a *announcement) { a.name = "a\nb" }),
		"long name":      enc(func(a *announcement) { a.name = strings.Repeat("n", protocol.MaxNameLen+1) }),
		"empty node":     enc(func(a *announcement) { a.node = "" }),
		"node not UTF-8": enc(func(a *announcement) { a.node = "\xff" }),
		"big value":      enc(func(a *announcement) { a.value = make([]byte, protocol.MaxValueLen+1) }),
		"truncated":      valid[:len(valid)-1],
		"trailing":       append(append([]byte(nil), valid...), 0),
	} {
		if name == "negative" {
			b[10] = 0x80 // sign bit of remaining
		}
		if _, err := decodeAnnouncement(b); !errors.Is(err, errAnnouncement) {
			t.Errorf("%s: decode gave %v, want errAnnouncement", name, err)
		}
	}
}

// FuzzDecodeAnnouncement: the decoder never panics, and what it accepts
// encodes back to the same bytes.
func FuzzDecodeAnnouncement(f *testing.F) {
	f.Add((&announcement{kind: annTenure, name: "L", node: "x", token: 5, remaining: time.Second, value: []byte("v")}).encode(nil))
	f.Add((&announcement{kind: annEnded, name: "leader", node: "node-1", token: 1}).encode(nil))
	f.Add([]byte{annTag})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeAnnouncement(b)
		if err != nil {
			return
		}
		if got := a.encode(nil); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded %x, read %x", got, b)
		}
	})
}

// Bad announcements are dropped and counted, and never reach the protocol
// decoder or an observer; a good one reaches the observers of its name
// only from gossip, with no holder at the voters.
func TestAnnouncementsFromGossip(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	a := c.nodes["a"]
	obs := a.Observe(ctx(t, 20*time.Second), "ghost")
	if h := next(t, obs); h.Node != "" {
		t.Fatalf("first value %+v, want a vacancy (nobody holds ghost)", h)
	}
	d := &delegate{n: a}
	before := a.Stats().DroppedMalformed
	d.NotifyMsg([]byte{annTag, annTenure})
	d.NotifyMsg(append((&announcement{kind: annTenure, name: "ghost", node: "z", token: 9, remaining: time.Second}).encode(nil), 1))
	// A copy of a's own announcement is someone's mistake, not news.
	d.NotifyMsg((&announcement{kind: annTenure, name: "ghost", node: "a", token: 9, remaining: time.Second}).encode(nil))
	if got := a.Stats().DroppedMalformed - before; got != 3 {
		t.Fatalf("dropped %d bad announcements, want 3", got)
	}
	// z announces a tenure the voters know nothing of (it is a hint); the
	// observer reports it, then a vacancy when z announces its end.
	d.NotifyMsg((&announcement{kind: annTenure, name: "ghost", node: "z", token: 9, remaining: 20 * time.Second, value: []byte("v")}).encode(nil))
	h := next(t, obs)
	if h.Node != "z" || h.Token != 9 || string(h.Value) != "v" || h.Remaining <= 0 {
		t.Fatalf("after z's announcement: %+v", h)
	}
	d.NotifyMsg((&announcement{kind: annEnded, name: "ghost", node: "z", token: 9}).encode(nil))
	if h := next(t, obs); h.Node != "" || h.Token != 0 {
		t.Fatalf("after z's end: %+v, want a vacancy", h)
	}
	// A late copy of the ended tenure is ignored; a later tenure is not.
	d.NotifyMsg((&announcement{kind: annTenure, name: "ghost", node: "z", token: 9, remaining: 20 * time.Second}).encode(nil))
	d.NotifyMsg((&announcement{kind: annTenure, name: "ghost", node: "w", token: 10, remaining: 20 * time.Second}).encode(nil))
	if h := next(t, obs); h.Node != "w" || h.Token != 10 {
		t.Fatalf("after w's announcement: %+v, want w with token 10", h)
	}
}

// next reads one value from an Observe channel, with a generous deadline.
func next(t testing.TB, obs <-chan Holder) Holder {
	t.Helper()
	select {
	case h, ok := <-obs:
		if !ok {
			t.Fatal("observe channel closed")
		}
		return h
	case <-time.After(20 * time.Second):
		t.Fatal("no observation within 20s")
	}
	return Holder{}
}

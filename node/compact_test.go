package node

import (
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/tenure-dev/tenure/protocol"
)

// A node sends each peer the datagram form its gossip metadata says it
// reads: runs of renewals to a peer of protocol.WireVersionRuns, the
// version-3 form to an older one, and nothing it cannot read to a peer
// whose metadata says nothing (a cluster upgrades node by node).
func TestRouteSendsTheFormThePeerReads(t *testing.T) {
	p := &peers{nodes: map[string]*memberlist.Node{}}
	for name, wire := range map[string]byte{"old": protocol.WireVersion, "new": protocol.WireVersionRuns} {
		meta := memberMeta{wire: wire, voter: true, ext: true, direct: true, nonce: 1}
		p.put(&memberlist.Node{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: 7946, Meta: meta.encode(512)})
	}
	p.put(&memberlist.Node{Name: "blank", Addr: net.IPv4(127, 0, 0, 1), Port: 7947})
	renewals := make([]protocol.Message, 300)
	for i := range renewals {
		renewals[i] = &protocol.Propose{Name: "task/" + string(rune('a'+i%26)) + string(rune('a'+i/26)),
			Ballot: protocol.Ballot{Era: 1, Round: uint32(i + 1), Node: "me"}, Attempt: uint64(i + 1), TTL: 10 * time.Second}
	}
	want := map[string]byte{"old": protocol.WireVersion, "new": protocol.WireVersionRuns, "blank": protocol.WireVersion}
	grams := map[string]int{}
	enc := protocol.NewEncoder()
	for name, version := range want {
		r, ok := p.route(name)
		if !ok {
			t.Fatalf("no route to %s", name)
		}
		err := enc.EncodeFor(protocol.Header{From: "me"}, r.wire, renewals, func(b []byte) {
			if b[0] != version {
				t.Fatalf("to %s (advertises %d): datagram of version %d, want %d", name, r.wire, b[0], version)
			}
			grams[name]++
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if grams["new"] >= grams["old"] {
		t.Fatalf("the compact form took %d datagrams, the old form %d", grams["new"], grams["old"])
	}
}

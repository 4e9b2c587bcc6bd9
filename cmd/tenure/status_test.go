package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tenure-dev/tenure/api"
)

// R17, R18: tenure status names a member of another configuration with
// what it runs, and says when this node's start is quarantined, being
// verified, or was found stale.
func TestStatusShowsConfigurationAndStart(t *testing.T) {
	r := statusReport{
		Agent: "http://127.0.0.1:7947", Self: "a",
		Members: []api.Member{
			{Name: "a", Addr: "127.0.0.1:7946", Voter: true, Alive: true},
			{Name: "d", Addr: "127.0.0.1:7976", Alive: true, Mismatch: true, Cluster: "tenure", Voters: "a,b,c,d,e"},
			{Name: "c", Voter: true},
		},
		Quorum: api.Quorum{Voters: 3, Alive: 1},
		Node: api.NodeState{Cluster: "tenure", Voters: "a,b,c", Quarantined: true, StaleStart: true,
			QuarantineLeftMS: 12300, MismatchedMembers: 1},
	}
	var b bytes.Buffer
	printStatus(&b, r)
	out := b.String()
	for _, want := range []string{
		"cluster: tenure, voters a,b,c",
		"start: STALE data dir (restored, copied or wiped): quarantined for 12.3s more",
		"WARNING: 1 member(s) run another cluster ID or voter list",
		"MISMATCH: cluster tenure voters a,b,c,d,e",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "MISMATCH") != 1 {
		t.Errorf("only d runs another configuration:\n%s", out)
	}
	b.Reset()
	r.Node = api.NodeState{Cluster: "tenure", Voters: "a,b,c", Verifying: true, Quarantined: true}
	printStatus(&b, r)
	if !strings.Contains(b.String(), "waiting for the other voters to confirm") {
		t.Errorf("a verifying start is not shown:\n%s", b.String())
	}
}

package node

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// reconfTweak runs a cluster with a short MaxTTL, so that a change's wait
// W (about MaxTTL·(1+ε)/(1−ε)) is short.
func reconfTweak(c *Config) {
	c.MaxTTL = 2 * time.Second
	c.DefaultTTL = time.Second
}

// reconfigureTimeout bounds one Reconfigure: well over W and the few
// round trips of a change.
const reconfigureTimeout = 60 * time.Second

// waitVoters waits until every node in ns has adopted a configuration of
// exactly want (not joint), and returns its epoch.
func waitVoters(t *testing.T, want []string, ns ...*Node) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		var epoch uint64
		for _, n := range ns {
			k := n.Voters()
			if k.Joint() || !slices.Equal(k.Voters, want) {
				ok = false
				break
			}
			epoch = k.Epoch
		}
		if ok {
			return epoch
		}
		if time.Now().After(deadline) {
			for _, n := range ns {
				t.Logf("%s: %s", n.Name(), n.Voters())
			}
			t.Fatalf("voters %v not adopted by every node in time", want)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
}

// stillHeld fails the test if l has ended.
func stillHeld(t *testing.T, l *Lease, when string) {
	t.Helper()
	select {
	case <-l.Done():
		t.Fatalf("%s: lease %q ended: %v", when, l.Name(), l.Err())
	default:
	}
	if err := l.Err(); err != nil {
		t.Fatalf("%s: lease %q: %v", when, l.Name(), err)
	}
}

// TestReconfigureGrowShrink grows three voters to five and back to three
// while a lease is held: it renews throughout (R25), and acquisitions work
// after each change. A restarted node takes the adopted configuration
// from its data dir, whatever its Voters says.
func TestReconfigureGrowShrink(t *testing.T) {
	c := newCluster(t, names("v", 3), []string{"v4", "v5"}, reconfTweak)
	five := names("v", 5)
	held := mustAcquire(t, c.nodes["v2"], "held")
	firstDeadline := held.Deadline()

	k, err := c.nodes["v1"].Reconfigure(ctx(t, reconfigureTimeout), five, 0)
	if err != nil {
		t.Fatalf("3 -> 5: %v", err)
	}
	if k.Joint() || !slices.Equal(k.Voters, five) || k.Epoch == 0 {
		t.Fatalf("3 -> 5 returned %s", k)
	}
	stillHeld(t, held, "after 3 -> 5")
	if !held.Deadline().After(firstDeadline) {
		t.Fatalf("lease not renewed through the change: deadline %v, first %v", held.Deadline(), firstDeadline)
	}
	all := []*Node{c.nodes["v1"], c.nodes["v2"], c.nodes["v3"], c.nodes["v4"], c.nodes["v5"]}
	grown := waitVoters(t, five, all...)
	l := mustAcquire(t, c.nodes["v5"], "after-grow")
	if err := l.Release(ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}

	// A stale plan is refused at once, and changes nothing.
	if _, err := c.nodes["v3"].Reconfigure(ctx(t, 10*time.Second), names("v", 3), 0); !errors.Is(err, ErrConfigChanged) {
		t.Fatalf("stale fromEpoch: got %v, want ErrConfigChanged", err)
	}
	if _, err := c.nodes["v3"].Reconfigure(ctx(t, 10*time.Second), []string{"v1", "v1"}, grown); !errors.Is(err, ErrMembership) {
		t.Fatalf("duplicate voter: got %v, want ErrMembership", err)
	}
	if got := c.nodes["v3"].Voters(); got.Epoch != grown {
		t.Fatalf("refused requests changed the configuration: %s", got)
	}

	secondDeadline := held.Deadline()
	k, err = c.nodes["v4"].Reconfigure(ctx(t, reconfigureTimeout), names("v", 3), grown)
	if err != nil {
		t.Fatalf("5 -> 3: %v", err)
	}
	if !slices.Equal(k.Voters, names("v", 3)) || k.Epoch <= grown {
		t.Fatalf("5 -> 3 returned %s", k)
	}
	stillHeld(t, held, "after 5 -> 3")
	if !held.Deadline().After(secondDeadline) {
		t.Fatalf("lease not renewed through the second change")
	}
	shrunk := waitVoters(t, names("v", 3), all...)
	l = mustAcquire(t, c.nodes["v4"], "after-shrink")
	if err := l.Release(ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}

	// v5, removed, stops and starts again with the initial list: its
	// data dir says it is no voter of epoch shrunk.
	c.leave("v5")
	n5 := c.start("v5")
	if got := n5.Voters(); got.Epoch != shrunk || !slices.Equal(got.Voters, names("v", 3)) {
		t.Fatalf("restarted v5 runs %s, want epoch %d from its data dir", got, shrunk)
	}
	if n5.isVoter() {
		t.Fatal("restarted v5 still a voter after its removal")
	}
	stillHeld(t, held, "at the end")
	if err := held.Release(ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// TestReconfigureReplaceDeadVoter replaces a crashed voter by a new one in
// one change (remove v3, add v4): a majority of the old voters and of the
// new ones is alive, so it completes without the dead one. A voter
// restarted afterwards with its original Voters runs the adopted
// configuration from its data dir.
func TestReconfigureReplaceDeadVoter(t *testing.T) {
	c := newCluster(t, names("v", 3), []string{"v4"}, reconfTweak)
	held := mustAcquire(t, c.nodes["v1"], "held")
	c.stop("v3")
	want := []string{"v1", "v2", "v4"}
	k, err := c.nodes["v2"].Reconfigure(ctx(t, reconfigureTimeout), []string{"v4", "v2", "v1"}, 0)
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	if !slices.Equal(k.Voters, want) || k.Joint() {
		t.Fatalf("replace returned %s", k)
	}
	stillHeld(t, held, "after the replacement")
	epoch := waitVoters(t, want, c.nodes["v1"], c.nodes["v2"], c.nodes["v4"])
	if !c.nodes["v4"].isVoter() {
		t.Fatal("v4 not a voter after the change")
	}

	// The new voter serves: with v2 gone too, v1 and v4 are a majority.
	c.leave("v2")
	l := mustAcquire(t, c.nodes["v4"], "after-replace")
	if err := l.Release(ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}

	// v2 starts again with Voters v1,v2,v3: its dir holds the adopted
	// configuration, and the identity check takes it.
	n2 := c.start("v2")
	waitServing(t, n2)
	if got := n2.Voters(); got.Epoch != epoch || !slices.Equal(got.Voters, want) {
		t.Fatalf("restarted v2 runs %s, want %v at epoch %d", got, want, epoch)
	}
	stillHeld(t, held, "at the end")

	// A new node given the current list instead of the initial one
	// started another chain: refused at join (R17), naming the lists.
	cfg := c.config("x")
	cfg.Voters, cfg.DataDir = want, t.TempDir()
	if n, err := New(cfg); err == nil {
		_ = n.Shutdown()
		t.Fatal("a node of another initial voter list joined")
	} else if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "initial voter lists") {
		t.Fatalf("another initial list: %v, want ErrConfig naming the initial lists", err)
	}
}

// TestReconfigureConcurrent starts two changes from the same epoch on two
// nodes at once: exactly one wins, the other is told ErrConfigChanged,
// and every node ends on the winner's voters.
func TestReconfigureConcurrent(t *testing.T) {
	c := newCluster(t, names("v", 3), []string{"v4", "v5"}, reconfTweak)
	targets := map[string][]string{
		"v1": {"v1", "v2", "v3", "v4"},
		"v2": {"v1", "v2", "v3", "v5"},
	}
	type result struct {
		from string
		k    Membership
		err  error
	}
	res := make(chan result, 2)
	for from, target := range targets {
		go func() {
			k, err := c.nodes[from].Reconfigure(ctx(t, reconfigureTimeout), target, 0)
			res <- result{from, k, err}
		}()
	}
	var won []result
	for range 2 {
		r := <-res
		switch {
		case r.err == nil:
			won = append(won, r)
		case errors.Is(r.err, ErrConfigChanged):
		default:
			t.Fatalf("%s: %v (%s)", r.from, r.err, r.k)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d changes won, want exactly 1: %+v", len(won), won)
	}
	w := won[0]
	if !slices.Equal(w.k.Voters, targets[w.from]) {
		t.Fatalf("winner %s returned %s, want %v", w.from, w.k, targets[w.from])
	}
	voters := []*Node{c.nodes["v1"], c.nodes["v2"], c.nodes["v3"]}
	for _, v := range targets[w.from][3:] {
		voters = append(voters, c.nodes[v])
	}
	waitVoters(t, targets[w.from], voters...)
	// The node the winner left out, a non-voter that sends nothing, learns
	// the configuration too: gossip shows it the voters' newer epoch, and
	// it asks them.
	out := "v5"
	if w.from == "v2" {
		out = "v4"
	}
	waitVoters(t, targets[w.from], c.nodes[out])
}

// leave stops one node cleanly (Leave) and forgets it: its name may be
// taken again at once, at any address.
func (c *cluster) leave(name string) {
	c.t.Helper()
	if err := c.nodes[name].Leave(ctx(c.t, 10*time.Second)); err != nil {
		c.t.Fatalf("leave %s: %v", name, err)
	}
	delete(c.nodes, name)
	c.restartJoin("")
}

// The gossip metadata carries the epoch (R21), an older node's metadata
// without it reads as epoch 0, and a member at another epoch of this
// cluster is no mismatch, while another list at the same epoch is.
func TestMetaEpoch(t *testing.T) {
	k := Membership{Epoch: 4, Voters: []string{"a", "b", "d"}}
	m := memberMeta{wire: protocol.WireVersion, voter: true, ext: true, nonce: 9,
		id: protocol.Identity{Cluster: "prod", Voters: k.Fingerprint(), Epoch: k.Epoch}, voters: "a,b,d",
		genesis: protocol.Fingerprint([]string{"a", "b", "c"})}
	got, ok := decodeMeta(m.encode(512))
	if !ok || got != m {
		t.Fatalf("round trip: %+v, want %+v", got, m)
	}
	b := m.encode(512)
	older, ok := decodeMeta(b[:len(b)-16])
	if !ok || older.id.Epoch != 0 || older.genesis != 0 || older.voters != "a,b,d" {
		t.Fatalf("metadata without the epoch: %+v", older)
	}
	// Two chains under one cluster ID: another initial list is a
	// mismatch at any epoch; an unknown one (an older node) is not.
	other := m
	other.id.Epoch, other.genesis = 2, protocol.Fingerprint([]string{"x", "y", "z"})
	if m.sameCluster(other) || other.sameCluster(m) {
		t.Fatal("members of two chains taken for one cluster")
	}
	other.genesis = 0
	if !m.sameCluster(other) {
		t.Fatal("a member without the initial list's fingerprint refused")
	}
	zero := protocol.Identity{Cluster: "prod", Voters: protocol.Fingerprint([]string{"a", "b", "c"})}
	for _, c := range []struct {
		a, b protocol.Identity
		want bool
	}{
		{zero, zero, true},
		{zero, m.id, true}, // one side behind: it catches up
		{zero, protocol.Identity{Cluster: "prod", Voters: protocol.Fingerprint([]string{"x"})}, false},
		{m.id, protocol.Identity{Cluster: "prod", Voters: zero.Voters, Epoch: 4}, false},
		{zero, protocol.Identity{Cluster: "other", Voters: zero.Voters}, false},
	} {
		if got := sameChain(c.a, c.b); got != c.want {
			t.Errorf("sameChain(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// A data dir holding a configuration adopted online starts under any
// Voters (the flag is the initial list only) and runs the adopted one; a
// dir whose record is at epoch 0 is checked against Voters as before.
func TestDataDirAdoptedConfig(t *testing.T) {
	dir := t.TempDir()
	n := mustNew(t, solo("a", dir, func(c *Config) { c.NewCluster = true }))
	if err := n.Leave(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	s, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	adopted := Membership{Epoch: 2, Voters: []string{"a", "d", "e"}}
	if err := s.writeConfig(&protocol.ConfigRecord{Version: protocol.ConfigRecordVersion, Config: adopted}); err != nil {
		t.Fatal(err)
	}
	s.close()
	n = mustNew(t, solo("a", dir, func(c *Config) { c.Voters = []string{"a", "b", "c"} }))
	if got := n.Voters(); !got.Equal(adopted) || !n.isVoter() {
		t.Fatalf("started with %s, want the adopted %s", got, adopted)
	}
	if m := n.currentMeta(); m.id.Epoch != 2 || m.voters != "a,d,e" {
		t.Fatalf("gossip metadata %+v does not follow the adopted configuration", m)
	}
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}

	// Removed: the record says the node is no voter, whatever Voters says.
	s, err = openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	removed := Membership{Epoch: 4, Voters: []string{"d", "e", "f"}}
	if err := s.writeConfig(&protocol.ConfigRecord{Version: protocol.ConfigRecordVersion, Config: removed}); err != nil {
		t.Fatal(err)
	}
	s.close()
	n = mustNew(t, solo("a", dir, nil))
	if n.isVoter() || n.Voters().Epoch != 4 {
		t.Fatalf("a removed voter runs %s, voter %v", n.Voters(), n.isVoter())
	}
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}

	// A corrupt record refuses the start, and changes nothing.
	if err := os.WriteFile(filepath.Join(dir, configFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)
	if _, err := New(solo("a", dir, nil)); !errors.Is(err, ErrStorage) {
		t.Fatalf("corrupt config file: %v, want ErrStorage", err)
	}
	if after := dirFiles(t, dir); !maps.Equal(before, after) {
		t.Fatalf("refused start changed the dir:\n%v\n%v", before, after)
	}
}

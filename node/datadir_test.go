package node

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// solo is the Config of a single-voter node on loopback with data dir
// dir; tweak adjusts it.
func solo(name, dir string, tweak func(*Config)) Config {
	cfg := Config{
		Name: name, BindAddr: "127.0.0.1", Voters: []string{name}, DataDir: dir,
		MaxTTL: time.Second, DefaultTTL: 500 * time.Millisecond, Logger: testLogger(name),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	return cfg
}

func mustNew(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() { _ = n.Shutdown() })
	return n
}

// dirFiles reads every regular file of dir except the lock file, for
// "changed nothing" checks.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if e.Name() == lockFile || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// R18: a data dir is locked while a node uses it; a second node on it is
// refused with an error naming the dir, and the lock goes with the node.
func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	first := mustNew(t, solo("a", dir, func(c *Config) { c.NewCluster = true }))
	before := dirFiles(t, dir)
	_, err := New(solo("a", dir, nil))
	if !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second New on one dir: %v, want ErrDataDirInUse naming %s", err, dir)
	}
	if after := dirFiles(t, dir); !maps.Equal(before, after) {
		t.Fatalf("the refused New changed the dir:\nbefore %q\nafter  %q", before, after)
	}
	if err := first.Shutdown(); err != nil {
		t.Fatal(err)
	}
	n := mustNew(t, solo("a", dir, nil)) // the lock went with the first node
	if st := n.Stats(); st.Boot != 2 {
		t.Fatalf("restart after the lock was released: boot %d, want 2", st.Boot)
	}
}

// R18: a data dir is bound to its cluster ID and node name at its first
// start; another node or cluster is refused, naming both, and the dir is
// left as it was.
func TestDataDirIdentity(t *testing.T) {
	dir := t.TempDir()
	n := mustNew(t, solo("a", dir, func(c *Config) { c.NewCluster = true; c.ClusterID = "prod" }))
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	id, err := parseIdentity(dirFiles(t, dir)[identityFile])
	if err != nil || id.Cluster != "prod" || id.Name != "a" || len(id.ID) != 32 {
		t.Fatalf("identity file: %+v, %v", id, err)
	}
	before := dirFiles(t, dir)
	for _, tc := range []struct {
		what  string
		cfg   Config
		names []string
	}{
		{"other name", solo("b", dir, func(c *Config) { c.ClusterID = "prod" }), []string{`"a"`, `"b"`, dir}},
		{"other cluster", solo("a", dir, func(c *Config) { c.ClusterID = "staging" }), []string{`"prod"`, `"staging"`, dir}},
		{"default cluster", solo("a", dir, nil), []string{`"prod"`, `"tenure"`}},
	} {
		_, err := New(tc.cfg)
		if !errors.Is(err, ErrConfig) {
			t.Fatalf("%s: %v, want ErrConfig", tc.what, err)
		}
		for _, s := range tc.names {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not name %s", tc.what, err, s)
			}
		}
		if after := dirFiles(t, dir); !maps.Equal(before, after) {
			t.Fatalf("%s: the refused New changed the dir:\nbefore %q\nafter  %q", tc.what, before, after)
		}
	}
	// The right node and cluster start, with the same node ID.
	n = mustNew(t, solo("a", dir, func(c *Config) { c.ClusterID = "prod" }))
	if m := n.Members(); len(m) != 1 || m[0].NodeID != id.ID || m[0].Cluster != "prod" {
		t.Fatalf("members %+v, want node ID %s in cluster prod", m, id.ID)
	}
}

// R18: an empty data dir starts without a quarantine only with
// NewCluster; otherwise it is a replaced disk and sits the quarantine out.
// NewCluster on a dir in use is ignored.
func TestEmptyDirQuarantine(t *testing.T) {
	fresh := mustNew(t, solo("a", t.TempDir(), func(c *Config) { c.NewCluster = true }))
	if st := fresh.Stats(); st.Quarantined || st.Era != 1 || st.Boot != 1 {
		t.Fatalf("empty dir with NewCluster: %+v, want no quarantine, era 1, boot 1", st)
	}
	dir := t.TempDir()
	replaced := mustNew(t, solo("a", dir, nil))
	if st := replaced.Stats(); !st.Quarantined || st.Era != 1 {
		t.Fatalf("empty dir without NewCluster: %+v, want a quarantine and era 0+1", st)
	}
	if err := replaced.Shutdown(); err != nil { // a crash
		t.Fatal(err)
	}
	again := mustNew(t, solo("a", dir, func(c *Config) { c.NewCluster = true }))
	if st := again.Stats(); !st.Quarantined || st.Era != 2 {
		t.Fatalf("NewCluster on a used dir after a crash: %+v, want the quarantine and era 2", st)
	}
	// A non-voter's empty dir: era 1, no quarantine to sit out.
	x := mustNew(t, solo("x", t.TempDir(), func(c *Config) { c.Voters = []string{"v"} }))
	if st := x.Stats(); st.Quarantined || st.Era != 1 {
		t.Fatalf("non-voter on an empty dir: %+v, want era 1", st)
	}
}

// R18: Restored forces a crashed start although a clean-shutdown state is
// there; the control restarts the same way without it and skips the
// quarantine.
func TestRestoredForcesQuarantine(t *testing.T) {
	dir := t.TempDir()
	n := mustNew(t, solo("a", dir, func(c *Config) { c.NewCluster = true }))
	leave := func(n *Node) {
		t.Helper()
		if err := n.Leave(ctx(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, stateFile)); err != nil {
			t.Fatalf("no state after Leave: %v", err)
		}
	}
	leave(n)
	clean := mustNew(t, solo("a", dir, nil))
	if st := clean.Stats(); st.Quarantined || st.Era != 1 {
		t.Fatalf("clean restart: %+v, want no quarantine and era 1", st)
	}
	leave(clean)
	restored := mustNew(t, solo("a", dir, func(c *Config) { c.Restored = true }))
	if st := restored.Stats(); !st.Quarantined || st.Era != 2 {
		t.Fatalf("Restored: %+v, want the quarantine and era 2", st)
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err == nil {
		t.Fatal("Restored left the state file in place")
	}
	if _, err := New(solo("b", t.TempDir(), func(c *Config) { c.Restored, c.NewCluster = true, true })); !errors.Is(err, ErrConfig) ||
		!strings.Contains(err.Error(), "NewCluster") || !strings.Contains(err.Error(), "Restored") {
		t.Fatalf("NewCluster with Restored: %v, want ErrConfig naming both", err)
	}
}

// R18: the boot counter rises by one at every start, clean or not, and
// is durable before the node runs.
func TestBootCounterRises(t *testing.T) {
	dir := t.TempDir()
	for want := uint64(1); want <= 3; want++ {
		n := mustNew(t, solo("a", dir, func(c *Config) { c.NewCluster = true }))
		if got := n.Stats().Boot; got != want {
			t.Fatalf("start %d: Stats.Boot %d", want, got)
		}
		if got := strings.TrimSpace(dirFiles(t, dir)[bootFile]); got != strconv.FormatUint(want, 10) {
			t.Fatalf("start %d: boot file %q", want, got)
		}
		var err error
		if want == 2 {
			err = n.Leave(ctx(t, 5*time.Second))
		} else {
			err = n.Shutdown()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, bootFile), []byte("many\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(solo("a", dir, nil)); !errors.Is(err, ErrStorage) {
		t.Fatalf("corrupt boot file: %v, want ErrStorage", err)
	}
}

// quarantineLen is the length of n's quarantine, from its start.
func quarantineLen(n *Node) time.Duration {
	n.stats.protoMu.Lock()
	defer n.stats.protoMu.Unlock()
	if n.stats.quarantineEnd.IsZero() {
		return 0
	}
	return n.stats.quarantineEnd.Sub(n.start)
}

// R19: the bounds file keeps the largest MaxTTL the node ran with and the
// largest TTL plus lock delay its acceptor accepted; after a crash
// restart with a lower MaxTTL the quarantine still covers both.
func TestBoundsPersisted(t *testing.T) {
	dir := t.TempDir()
	n := mustNew(t, solo("a", dir, func(c *Config) { c.NewCluster = true; c.MaxTTL = 3 * time.Second }))
	const ttl, delay = 2 * time.Second, 500 * time.Millisecond
	l := mustAcquire(t, n, "job", WithTTL(ttl), WithLockDelay(delay))
	if err := l.Release(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	s := &store{dir: dir}
	b, err := s.readBounds()
	if err != nil || b.MaxTTL != 3*time.Second || b.MaxExclusion < ttl+delay {
		t.Fatalf("bounds after a grant of %v + %v at MaxTTL 3s: %+v, %v", ttl, delay, b, err)
	}
	if err := n.Shutdown(); err != nil { // a crash
		t.Fatal(err)
	}
	low := mustNew(t, solo("a", dir, func(c *Config) { c.MaxTTL = time.Second }))
	pc := low.m.Config() // set at New, read-only after
	if q, want := quarantineLen(low), max(pc.QuarantineFor(3*time.Second), pc.ExclusionQuarantine(b.MaxExclusion)); q < want {
		t.Fatalf("quarantine %v after a crash restart at MaxTTL 1s; it must cover the old MaxTTL 3s and exclusion %v: %v", q, b.MaxExclusion, want)
	}
	if q, own := quarantineLen(low), pc.Quarantine; q <= own {
		t.Fatalf("quarantine %v is the new configuration's own %v", q, own)
	}
	if b2, err := s.readBounds(); err != nil || b2 != b {
		t.Fatalf("bounds fell after a restart at a lower MaxTTL: %+v, was %+v (%v)", b2, b, err)
	}
	if err := low.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, boundsFile), []byte("max_ttl soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(solo("a", dir, nil)); !errors.Is(err, ErrStorage) {
		t.Fatalf("corrupt bounds file: %v, want ErrStorage", err)
	}
}

// Issue 12.7c, R20: a non-voter without a data dir starts at era 1 (not
// the wall clock, which every voter would adopt), and the tokens it gets
// still strictly rise across restarts within one second.
func TestNonVoterWithoutDataDir(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	var last uint64
	port := 0
	for i := range 4 {
		cfg := c.config("x")
		cfg.DataDir = ""
		// A supervisor restarts it at once on its own address: a new
		// address would wait for gossip to declare the old process dead
		// (R18, TestReplaceAfterCrash).
		cfg.BindPort = port
		x := mustNew(t, cfg)
		port = int(x.ml.LocalNode().Port)
		if st := x.Stats(); st.Era != 1 || st.Quarantined {
			t.Fatalf("restart %d: non-voter without a DataDir: %+v, want era 1 and no quarantine", i, st)
		}
		l := mustAcquire(t, x, "job")
		if l.Token() <= last {
			t.Fatalf("restart %d: token %#x not above the previous tenure's %#x", i, l.Token(), last)
		}
		last = l.Token()
		if err := l.Release(ctx(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := x.Shutdown(); err != nil {
			t.Fatal(err)
		}
	}
	if era := c.nodes["a"].Stats().Era; era > 1000 {
		t.Fatalf("voter era %d: a non-voter dragged it up", era)
	}
}

// The gossip metadata round-trips, drops the voter list rather than
// exceed the limit, and an older node's three bytes still decode.
func TestMetaRoundTrip(t *testing.T) {
	m := memberMeta{wire: protocol.WireVersion, voter: true, ext: true, nonce: 42,
		id: protocol.Identity{Cluster: "prod", Voters: protocol.Fingerprint([]string{"a", "b"})}, voters: "a,b"}
	copy(m.nodeID[:], bytes.Repeat([]byte{7}, 16))
	got, ok := decodeMeta(m.encode(512))
	if !ok || got != m {
		t.Fatalf("round trip: %+v, want %+v", got, m)
	}
	m.voters = strings.Repeat("v", 600)
	b := m.encode(512)
	if len(b) > 512 {
		t.Fatalf("meta of %d bytes exceeds the limit", len(b))
	}
	got, ok = decodeMeta(b)
	if !ok || got.voters != "" || got.id != m.id || !strings.Contains(got.votersOrFingerprint(), "fingerprint") {
		t.Fatalf("long voter list: %+v", got)
	}
	old, ok := decodeMeta([]byte{metaFormat, 1, metaVoter})
	if !ok || old.ext || !old.voter || old.wire != 1 {
		t.Fatalf("first-version meta: %+v %v", old, ok)
	}
	if _, ok := decodeMeta([]byte{9, 9, 9}); ok {
		t.Fatal("unknown format accepted")
	}
}

// R17: a voter's data dir is bound to the voter list its promises were
// made under. A restart with another list is refused, naming both, and
// changes nothing; Restored (after a full stop, the documented procedure)
// rebinds it with a crashed start. A non-voter's dir is simply rebound.
func TestDataDirVoterList(t *testing.T) {
	dir := t.TempDir()
	n := mustNew(t, solo("a", dir, func(c *Config) { c.NewCluster = true }))
	if err := n.Leave(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)
	wider := func(c *Config) { c.Voters = []string{"c", "a", "b"} }
	_, err := New(solo("a", dir, wider))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "with Voters a;") ||
		!strings.Contains(err.Error(), "has Voters a,b,c") || !strings.Contains(err.Error(), "Restored") {
		t.Fatalf("restart with another voter list: %v, want ErrConfig naming both lists and Restored", err)
	}
	if after := dirFiles(t, dir); !maps.Equal(before, after) {
		t.Fatalf("the refused New changed the dir:\nbefore %q\nafter  %q", before, after)
	}
	r := mustNew(t, solo("a", dir, func(c *Config) {
		wider(c)
		c.Restored = true
		c.MaxTTL = 500 * time.Millisecond
		c.DefaultTTL = 100 * time.Millisecond
	}))
	if st := r.Stats(); !st.Quarantined || st.Era != 2 {
		t.Fatalf("Restored with a new voter list: %+v, want a crashed start (quarantine, era 2)", st)
	}
	if err := r.Shutdown(); err != nil {
		t.Fatal(err)
	}
	id, err := parseIdentity(dirFiles(t, dir)[identityFile])
	if err != nil || !slices.Equal(id.Voters, []string{"a", "b", "c"}) {
		t.Fatalf("identity after the rebind: %+v, %v", id, err)
	}
	mustNew(t, solo("a", dir, wider)).Shutdown() // the new list is now the dir's

	// A non-voter's dir follows the list without ceremony.
	xdir := t.TempDir()
	x := mustNew(t, solo("x", xdir, func(c *Config) { c.Voters = []string{"v"}; c.NewCluster = true }))
	if err := x.Shutdown(); err != nil {
		t.Fatal(err)
	}
	mustNew(t, solo("x", xdir, func(c *Config) { c.Voters = []string{"v", "w", "z"} }))
}

// R18: a voter keeps, durably, the newest start it heard from each other
// voter, so that a crash does not make it forget; the file round-trips
// names of any bytes, and a corrupt one is refused.
func TestPeersPersisted(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	s := &store{dir: c.dirs["a"]}
	waitUntil(t, "a to persist b's and c's starts", func() bool {
		ps, err := s.readPeers()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]uint64{}
		for _, p := range ps {
			seen[p.Name] = p.Boot
		}
		return seen["b"] == 1 && seen["c"] == 1
	})
	dir := t.TempDir()
	s = &store{dir: dir}
	want := []protocol.PeerIncarnation{
		{Name: "odd \"name\" 1", Incarnation: protocol.Incarnation{Boot: 3, Nonce: 1<<64 - 1}},
		{Name: "b", Incarnation: protocol.Incarnation{Boot: 1, Nonce: 7}},
	}
	if err := s.writePeers(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.readPeers()
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("peers round trip: %+v, %v; want %+v", got, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, peersFile), []byte("\"b\" 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.readPeers(); !errors.Is(err, ErrStorage) {
		t.Fatalf("corrupt peers file: %v, want ErrStorage", err)
	}
}

package node

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// deadAddr is a loopback address nothing listens on (a port just freed).
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// A start whose join fails answered nothing: it leaves an empty dir empty,
// so the next start with NewCluster is fresh, not crashed.
func TestFailedJoinLeavesEmptyDirFresh(t *testing.T) {
	dir := t.TempDir()
	bad := deadAddr(t)
	_, err := New(solo("a", dir, func(c *Config) { c.NewCluster = true; c.Join = []string{bad} }))
	if err == nil {
		t.Fatal("New with a join nobody answers: no error")
	}
	for _, f := range []string{eraFile, stateFile, boundsFile, peersFile, identityFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("failed start left %s in the dir", f)
		}
	}
	n := mustNew(t, solo("a", dir, func(c *Config) { c.NewCluster = true }))
	if st := n.Stats(); st.Quarantined {
		t.Fatalf("start after a failed join is quarantined (%v): the failed start marked the dir", st.QuarantineLeft)
	}
}

// A failed join after a clean stop puts the clean-shutdown state back: the
// next start is still clean (no quarantine, same era).
func TestFailedJoinKeepsCleanState(t *testing.T) {
	dir := t.TempDir()
	n := mustNew(t, solo("a", dir, func(c *Config) { c.NewCluster = true }))
	if err := n.Leave(ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)
	if _, ok := before[stateFile]; !ok {
		t.Fatal("Leave wrote no state file")
	}
	bad := deadAddr(t)
	if _, err := New(solo("a", dir, func(c *Config) { c.Join = []string{bad} })); err == nil {
		t.Fatal("New with a join nobody answers: no error")
	}
	after := dirFiles(t, dir)
	for name, b := range before {
		if name == bootFile {
			continue // only rises (undo.go)
		}
		if after[name] != b {
			t.Errorf("%s changed by the failed start: %q, was %q", name, after[name], b)
		}
	}
	if boot, _ := strconv.Atoi(after[bootFile][:len(after[bootFile])-1]); boot < 2 {
		t.Errorf("boot counter %q did not rise", after[bootFile])
	}
	n2 := mustNew(t, solo("a", dir, nil))
	if st := n2.Stats(); st.Quarantined {
		t.Fatalf("start after a failed join is quarantined (%v): the clean state was consumed", st.QuarantineLeft)
	}
}

// With JoinTimeout a node started before the member it joins waits for
// it, and both then form one cluster that grants a lease.
func TestJoinRetriesUntilMemberListens(t *testing.T) {
	addr := deadAddr(t)
	host, portS, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portS)
	voters := []string{"a", "b"}
	type result struct {
		n   *Node
		err error
	}
	res := make(chan result, 1)
	go func() {
		n, err := New(Config{Name: "b", BindAddr: "127.0.0.1", Voters: voters, DataDir: t.TempDir(), NewCluster: true,
			Join: []string{addr}, JoinTimeout: time.Minute, Logger: testLogger("b")})
		res <- result{n, err}
	}()
	a := mustNew(t, Config{Name: "a", BindAddr: host, BindPort: port, Voters: voters, DataDir: t.TempDir(), NewCluster: true, Logger: testLogger("a")})
	r := <-res
	if r.err != nil {
		t.Fatalf("b started before a: %v", r.err)
	}
	t.Cleanup(func() { _ = r.n.Shutdown() })
	waitServing(t, a)
	waitServing(t, r.n)
	l := mustAcquire(t, r.n, "x")
	if l.Token() == 0 {
		t.Fatal("zero token")
	}
}

func TestJoinTimeoutNegative(t *testing.T) {
	dir := t.TempDir()
	_, err := New(solo("a", dir, func(c *Config) { c.JoinTimeout = -time.Second }))
	if err == nil {
		t.Fatal("negative JoinTimeout accepted")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("refused config changed the dir: %d entries", len(ents))
	}
}

package node

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// logBuffer collects a node's log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// waitUntil polls cond until it holds or the generous deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
}

// grantCycle acquires and releases name through n: the cluster grants.
func grantCycle(t *testing.T, n *Node, name string) uint64 {
	t.Helper()
	l := mustAcquire(t, n, name)
	if err := l.Release(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return l.Token()
}

// R18: a second live process with a name already in the cluster refuses to
// run, naming the name and both addresses, whether it joins through the
// holder of the name or through another member; the first process logs
// the conflict, counts it, and the cluster keeps granting, through it too.
func TestDuplicateNameRefused(t *testing.T) {
	var blog logBuffer
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x"}, func(cfg *Config) {
		if cfg.Name == "b" {
			cfg.Logger = blog.logger()
		}
	})
	b := c.nodes["b"]
	tok := grantCycle(t, c.nodes["x"], "job")
	for _, via := range []string{"b", "a"} {
		cfg := c.config("b")
		cfg.DataDir = t.TempDir() // another machine's disk
		cfg.Logger = nil
		cfg.Join = []string{c.nodes[via].Addr()}
		dup, err := New(cfg)
		if err == nil {
			dup.Shutdown()
			t.Fatalf("a second b joining through %s was let in", via)
		}
		if !errors.Is(err, ErrDuplicateName) {
			t.Fatalf("second b through %s: %v, want ErrDuplicateName", via, err)
		}
		for _, s := range []string{`"b"`, b.Addr()} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not name %s", err, s)
			}
		}
		// And this process's own address: the one memberlist bound.
		if !strings.Contains(err.Error(), "this process is at 127.0.0.1:") {
			t.Errorf("error %q does not name the second process's address", err)
		}
	}
	// The first b saw the one that joined through it.
	waitUntil(t, "b to count the duplicate", func() bool { return b.Stats().DuplicateNames >= 1 })
	if !strings.Contains(blog.String(), "another process claims this node's name") {
		t.Errorf("b logged no conflict:\n%s", blog.String())
	}
	// a saw the one that joined through it.
	waitUntil(t, "a to count the duplicate", func() bool { return c.nodes["a"].Stats().DuplicateNames >= 1 })
	// The cluster keeps granting, and b still votes and acquires.
	if t2 := grantCycle(t, c.nodes["x"], "job"); t2 <= tok {
		t.Fatalf("token %d after the refusals not above %d", t2, tok)
	}
	grantCycle(t, b, "b-job")
	for _, m := range c.nodes["a"].Members() {
		if m.Name == "b" && m.Addr != b.Addr() {
			t.Fatalf("gossip moved b to %s", m.Addr)
		}
	}
}

// R18: a replacement for a node that left cleanly (another machine, another
// address, an empty data dir) is let in at once and takes part.
func TestReplaceAfterLeave(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, nil, func(cfg *Config) { cfg.MaxTTL, cfg.DefaultTTL = time.Second, 500*time.Millisecond })
	old := c.nodes["b"]
	oldAddr := old.Addr()
	if err := old.Leave(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	delete(c.nodes, "b")
	cfg := c.config("b")
	cfg.DataDir = t.TempDir()
	cfg.NewCluster = false // a replaced disk: it sits out the quarantine
	cfg.Join = []string{c.nodes["a"].Addr()}
	nb, err := New(cfg)
	if err != nil {
		t.Fatalf("replacement after a clean leave: %v", err)
	}
	c.nodes["b"] = nb
	if nb.Addr() == oldAddr {
		t.Fatalf("the replacement reused the old address %s: the test proves nothing", oldAddr)
	}
	replacementVotes(t, c, nb)
}

// R18: a replacement for a node that crashed (another address) is refused
// while the cluster still sees the old one alive, and let in once gossip
// has declared it dead and deadNodeReclaim has passed.
func TestReplaceAfterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for memberlist's failure detector and reclaim time")
	}
	c := newCluster(t, []string{"a", "b", "c"}, nil, func(cfg *Config) { cfg.MaxTTL, cfg.DefaultTTL = time.Second, 500*time.Millisecond })
	c.stop("b")
	cfg := c.config("b")
	cfg.DataDir = t.TempDir()
	cfg.NewCluster = false
	cfg.Join = []string{c.nodes["a"].Addr()}
	var nb *Node
	refused := 0
	waitUntil(t, "the replacement to be let in", func() bool {
		n, err := New(cfg)
		if errors.Is(err, ErrDuplicateName) {
			refused++
			time.Sleep(200 * time.Millisecond) // a supervisor's restart delay
			return false
		}
		if err != nil {
			t.Fatalf("replacement: %v", err)
		}
		nb = n
		return true
	})
	c.nodes["b"] = nb
	t.Logf("refused %d times before the old b was declared dead", refused)
	replacementVotes(t, c, nb)
}

// replacementVotes waits until a routes b to the replacement nb's address
// and nb serves, then shows nb votes: with a stopped, only b and c make a
// majority, and c is granted a lease.
func replacementVotes(t *testing.T, c *cluster, nb *Node) {
	t.Helper()
	waitUntil(t, "a to route b to its new address", func() bool {
		for _, m := range c.nodes["a"].Members() {
			if m.Name == "b" {
				return m.Addr == nb.Addr()
			}
		}
		return false
	})
	waitServing(t, nb)
	c.stop("a")
	grantCycle(t, c.nodes["c"], "job")
}

// R18: another process under this node's name at this node's own address
// is taken for the one that ran there before, unless it still speaks
// after twinWindow: then it is a live twin, logged and counted once.
func TestGuardTwinAtOwnAddress(t *testing.T) {
	var blog logBuffer
	now := time.Unix(1_700_000_000, 0)
	var dups int
	self := memberMeta{wire: 2, ext: true, nonce: 1}
	g := newGuard(blog.logger(), "b", self, &peers{nodes: map[string]*memberlist.Node{}}, func() { dups++ })
	g.now = func() time.Time { return now }
	if err := g.started("127.0.0.1:7000"); err != nil {
		t.Fatal(err)
	}
	other := memberMeta{wire: 2, ext: true, nonce: 2}
	alive := func(port uint16, m memberMeta) {
		p := &memberlist.Node{Name: "b", Addr: []byte{127, 0, 0, 1}, Port: port, Meta: m.encode(512)}
		if err := g.NotifyAlive(p); err != nil {
			t.Fatal(err)
		}
	}
	alive(7000, self) // this process itself
	alive(7000, other)
	alive(7000, other)
	if dups != 0 {
		t.Fatalf("an earlier process's last gossip counted as a twin")
	}
	now = now.Add(twinWindow + time.Second)
	alive(7001, other) // another address: memberlist's conflict, not this check
	if dups != 0 {
		t.Fatalf("another address counted here")
	}
	alive(7000, other)
	alive(7000, other)
	if dups != 1 || !strings.Contains(blog.String(), "two hosts advertise one address") {
		t.Fatalf("live twin: %d counted, log:\n%s", dups, blog.String())
	}
}

package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a
// stopped node must stop everything it started, memberlist included.
// memberlist's failure-detector probe of a peer that does not answer runs
// to its own timeout (up to a probe interval) even after Shutdown; it ends
// by itself and is not a leak. Any other memberlist goroutine left over
// would be, and still fails the package.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"),
		goleak.IgnoreAnyFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode.func1"),
	)
}

// testLogger discards logs unless TENURE_TEST_LOG is set (to a slog level
// such as "debug"), in which case they go to stderr.
func testLogger(name string) *slog.Logger {
	lv := os.Getenv("TENURE_TEST_LOG")
	if lv == "" {
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(lv)); err != nil {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("test-node", name)
}

// cluster is a set of nodes on loopback, in one process.
type cluster struct {
	t      testing.TB
	voters []string
	nodes  map[string]*Node
	dirs   map[string]string
	seed   string // the first node's address, for Join
	tweak  func(*Config)
}

// newCluster starts voters and then the other nodes, each with a data dir
// of its own, joined through the first node. tweak, if not nil, adjusts
// every node's Config.
func newCluster(t testing.TB, voters, others []string, tweak func(*Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, voters: voters, nodes: map[string]*Node{}, dirs: map[string]string{}, tweak: tweak}
	for _, name := range append(append([]string(nil), voters...), others...) {
		c.dirs[name] = t.TempDir()
		c.start(name)
	}
	t.Cleanup(c.shutdown)
	for _, v := range voters {
		waitServing(t, c.nodes[v])
	}
	return c
}

// waitServing waits until voter n answers as an acceptor: its peers have
// confirmed its start (R18) and it sits out no quarantine (R9).
func waitServing(t testing.TB, n *Node) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := n.Stats()
		if !st.Verifying && !st.Quarantined {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still not serving: %+v", n.Name(), st)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
}

// config is the Config a node of the cluster starts with.
func (c *cluster) config(name string) Config {
	cfg := Config{
		Name:     name,
		BindAddr: "127.0.0.1",
		Voters:   c.voters,
		DataDir:  c.dirs[name],
		Logger:   testLogger(name),
		// A fresh cluster: the empty dirs of its first start need no
		// quarantine (R18). Ignored on later starts, whose dirs are not
		// empty.
		NewCluster: true,
	}
	if c.seed != "" {
		cfg.Join = []string{c.seed}
	}
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	return cfg
}

// start (re)starts one node and returns it.
func (c *cluster) start(name string) *Node {
	c.t.Helper()
	n, err := New(c.config(name))
	if err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	c.nodes[name] = n
	if c.seed == "" || c.nodes[c.seedName()] == nil {
		c.seed = n.Addr()
	}
	return n
}

// seedName is the node whose address others join.
func (c *cluster) seedName() string {
	for name, n := range c.nodes {
		if n.Addr() == c.seed {
			return name
		}
	}
	return ""
}

// restartJoin points Join at any running node; used after some stopped.
func (c *cluster) restartJoin(except string) {
	for name, n := range c.nodes {
		if name != except {
			c.seed = n.Addr()
			return
		}
	}
	c.seed = ""
}

func (c *cluster) shutdown() {
	for name, n := range c.nodes {
		if err := n.Shutdown(); err != nil {
			c.t.Errorf("shutdown %s: %v", name, err)
		}
	}
}

// stop shuts one node down (a crash) and forgets it.
func (c *cluster) stop(name string) {
	c.t.Helper()
	if err := c.nodes[name].Shutdown(); err != nil {
		c.t.Fatalf("shutdown %s: %v", name, err)
	}
	delete(c.nodes, name)
	c.restartJoin("")
}

// ctx is a generous deadline for a step of a real-network test: tests
// assert outcomes, never elapsed times.
func ctx(t testing.TB, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

func mustAcquire(t testing.TB, n *Node, name string, opts ...AcquireOption) *Lease {
	t.Helper()
	l, err := n.Acquire(ctx(t, 20*time.Second), name, opts...)
	if err != nil {
		t.Fatalf("%s: Acquire(%q): %v", n.Name(), name, err)
	}
	return l
}

func names(prefix string, k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return out
}

//go:build scale

package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The scale test runs a cluster of many in-process nodes over real
// memberlist on loopback and measures what DESIGN §13 reports: membership
// convergence, gossip CPU per node, how often gossip's failure detector
// suspected or declared dead a live node, acquire latency from a non-voter,
// and the load on each voter, idle and under parallel acquires. It is not
// in the default suite (it takes a minute or more): `make scale`, or
//
//	go test -tags scale ./node -run TestScale -count=1 -v -timeout 30m
//
// with TENURE_SCALE_NODES (default 100), TENURE_SCALE_VOTERS (default 5),
// TENURE_SCALE_ACQUIRES (default 300), TENURE_SCALE_WORKERS (default 32),
// TENURE_SCALE_LOAD (seconds of parallel load, default 10),
// TENURE_SCALE_STARTERS (nodes started at once, default 8),
// TENURE_SCALE_JOIN ("voters", the default: every non-voter joins through
// every voter's address; "first": everyone joins the first voter),
// TENURE_SCALE_SEED (default 1), TENURE_SCALE_PROBE_TIMEOUT_MS and
// TENURE_SCALE_SUSPICION_MULT (memberlist settings to try instead of the
// node's), and TENURE_SCALE_DEBUG (comma-separated
// node names whose logs go to stderr at debug level). TENURE_SCALE_OUT
// names a file for the figures as JSON; TENURE_SCALE_IDLE_PROFILE one for
// a CPU profile of the quiet window. It asserts outcomes (every node
// converges within 3 minutes, and again after the quiet window, every
// acquire succeeds, each name has the holder that acquired it, every
// release succeeds or finds its lease already run out, which is counted),
// never elapsed times: the figures, false suspicions included, are
// reported.

// scaleFigures are the measurements of one scale run.
type scaleFigures struct {
	Nodes, Voters int
	Join          string
	// StartS is the wall time to start every node (New returned), and
	// StartMaxMS the slowest single New.
	StartS, StartMaxMS float64
	// ConvergeMS is the time from the last node's start until every node
	// saw every other as alive.
	ConvergeMS float64
	// Gossip's failure detector during start-up and convergence: probes
	// that ended in a suspicion of a live node, suspicions that ran out
	// into a dead declaration, and refutations (a node hearing it is
	// suspected or dead and answering with a higher incarnation). Every
	// node is alive throughout, so each of these is a false positive.
	StartSuspects, StartDeaths, StartRefutes int64
	// The same during the quiet window.
	IdleSuspects, IdleDeaths, IdleRefutes int64
	// IdleCPUPercentPerNode is the process's CPU time over a quiet window
	// (gossip and failure detection only), divided by the window and the
	// number of nodes, as a percentage of one core.
	IdleCPUPercentPerNode float64
	// IdleDatagramsPerVoter is protocol datagrams per second received by
	// each voter in the quiet window (should be 0: nothing is held).
	IdleDatagramsPerVoter float64
	// AcquireP50US, AcquireP99US are the latencies of Acquire from a
	// random non-voter on a fresh name (each released right after), one
	// at a time while every node idles in gossip.
	AcquireP50US, AcquireP99US float64
	Acquires                   int
	// LostBeforeRelease counts leases of that phase that ran out before
	// their release (Release said ErrLost).
	LostBeforeRelease int
	// BusyDatagramsPerVoter is protocol datagrams per second received by
	// each voter (mean over voters) during the sequential acquire phase
	// (each step: an acquire, a holder query, a release), and the largest
	// of any voter.
	BusyDatagramsPerVoter, BusyDatagramsMaxVoter float64
	// DatagramsPerStepPerVoter is protocol datagrams each voter received
	// per step of the sequential phase (mean over voters).
	DatagramsPerStepPerVoter float64
	// The parallel phase: Workers goroutines, each on a distinct name
	// and a distinct random non-voter, acquire and release in a loop for
	// LoadS seconds. LoadOpsPerS is acquire+release cycles per second;
	// LoadDatagramsPerVoter datagrams per second received by each voter
	// (mean) and LoadDatagramsMaxVoter the busiest;
	// LoadDatagramsPerOpPerVoter per cycle; LoadAcquireP50US/P99US the
	// acquire latencies under that load.
	Workers                                      int
	LoadS, LoadOpsPerS                           float64
	LoadDatagramsPerVoter, LoadDatagramsMaxVoter float64
	LoadDatagramsPerOpPerVoter                   float64
	LoadAcquireP50US, LoadAcquireP99US           float64
	// LoadLost counts leases of the parallel phase lost before release.
	LoadLost      int
	LoadAverage1M string
	GossipConfig  string
	Seed          uint64
}

func envInt(t *testing.T, key string, def int) int {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", key, v)
	}
	return n
}

func voterPackets(c *cluster) map[string]uint64 {
	out := map[string]uint64{}
	for _, v := range c.voters {
		out[v] = c.nodes[v].Stats().PacketsReceived
	}
	return out
}

// detectorCounts counts, over every node of the process, memberlist's log
// lines that mark a failure-detector transition.
type detectorCounts struct {
	suspects, deaths, refutes atomic.Int64
}

func (d *detectorCounts) snapshot() [3]int64 {
	return [3]int64{d.suspects.Load(), d.deaths.Load(), d.refutes.Load()}
}

// countingHandler is a slog.Handler that counts memberlist's transitions
// and forwards records to next (nil: drops them).
type countingHandler struct {
	counts *detectorCounts
	next   slog.Handler
}

func (h countingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || (h.next != nil && h.next.Enabled(ctx, l))
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	switch {
	case strings.HasPrefix(r.Message, "memberlist: Suspect "):
		h.counts.suspects.Add(1)
	case strings.HasPrefix(r.Message, "memberlist: Marking "):
		h.counts.deaths.Add(1)
	case strings.HasPrefix(r.Message, "memberlist: Refuting a suspect"),
		strings.HasPrefix(r.Message, "memberlist: Refuting a dead"):
		h.counts.refutes.Add(1)
	}
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if h.next != nil {
		h.next = h.next.WithAttrs(as)
	}
	return h
}

func (h countingHandler) WithGroup(g string) slog.Handler {
	if h.next != nil {
		h.next = h.next.WithGroup(g)
	}
	return h
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// startScaleCluster starts the voters one by one (each joining the first),
// then the non-voters, starters at a time, each joining through the
// voters' addresses (join "voters") or the first voter's (join "first").
func startScaleCluster(t *testing.T, voters, others []string, join string, starters int, counts *detectorCounts, debug map[string]bool) (*cluster, time.Duration) {
	t.Helper()
	c := &cluster{t: t, voters: voters, nodes: map[string]*Node{}, dirs: map[string]string{}}
	t.Cleanup(c.shutdown)
	for _, name := range append(append([]string(nil), voters...), others...) {
		c.dirs[name] = t.TempDir()
	}
	var mu sync.Mutex
	var slowest time.Duration
	start := func(name string, seeds []string) error {
		cfg := Config{Name: name, BindAddr: "127.0.0.1", Voters: voters, DataDir: c.dirs[name], NewCluster: true, Join: seeds}
		var next slog.Handler
		if debug[name] {
			next = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
		}
		cfg.Logger = slog.New(countingHandler{counts: counts, next: next}).With("test-node", name)
		t0 := time.Now()
		n, err := New(cfg)
		if err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		mu.Lock()
		c.nodes[name] = n
		slowest = max(slowest, time.Since(t0))
		mu.Unlock()
		return nil
	}
	var seeds []string
	for _, v := range voters {
		if err := start(v, seeds); err != nil {
			t.Fatal(err)
		}
		if seeds == nil {
			seeds = []string{c.nodes[v].Addr()}
		}
	}
	if join == "voters" {
		seeds = nil
		for _, v := range voters {
			seeds = append(seeds, c.nodes[v].Addr())
		}
	}
	work := make(chan string)
	errs := make(chan error, starters)
	var wg sync.WaitGroup
	for range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range work {
				if err := start(name, seeds); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
feed:
	for _, name := range others {
		select {
		case work <- name:
		case err := <-errs:
			close(work)
			wg.Wait()
			t.Fatal(err)
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	for _, v := range voters {
		waitServing(t, c.nodes[v])
	}
	return c, slowest
}

// waitConverged waits until every node of c sees total members alive.
func waitConverged(c *cluster, total int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		lagging := ""
		for name, n := range c.nodes {
			if n.Stats().Members != total {
				lagging = name
				break
			}
		}
		if lagging == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s sees %d of %d", lagging, c.nodes[lagging].Stats().Members, total)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
}

// holder asks n for the holder of name, asking again while too few voters
// answer (a starved process may miss one query's round) until ctx ends.
func holder(ctx context.Context, n *Node, name string) (Holder, error) {
	for {
		h, err := n.Holder(ctx, name)
		if !errors.Is(err, ErrNoQuorum) || ctx.Err() != nil {
			return h, err
		}
	}
}

func percentile(d []time.Duration, p int) float64 {
	slices.Sort(d)
	return float64(d[len(d)*p/100].Microseconds())
}

func TestScale(t *testing.T) {
	total := envInt(t, "TENURE_SCALE_NODES", 100)
	nv := envInt(t, "TENURE_SCALE_VOTERS", 5)
	acquires := envInt(t, "TENURE_SCALE_ACQUIRES", 300)
	workers := envInt(t, "TENURE_SCALE_WORKERS", 32)
	loadFor := time.Duration(envInt(t, "TENURE_SCALE_LOAD", 10)) * time.Second
	starters := envInt(t, "TENURE_SCALE_STARTERS", 8)
	seed := uint64(envInt(t, "TENURE_SCALE_SEED", 1))
	join := os.Getenv("TENURE_SCALE_JOIN")
	if join == "" {
		join = "voters"
	}
	if join != "voters" && join != "first" {
		t.Fatalf("TENURE_SCALE_JOIN=%q: want voters or first", join)
	}
	if nv >= total {
		t.Fatalf("TENURE_SCALE_VOTERS=%d >= TENURE_SCALE_NODES=%d: the test needs non-voters", nv, total)
	}
	debug := map[string]bool{}
	for _, name := range strings.Split(os.Getenv("TENURE_SCALE_DEBUG"), ",") {
		if name != "" {
			debug[name] = true
		}
	}
	replay := fmt.Sprintf("TENURE_SCALE_NODES=%d TENURE_SCALE_VOTERS=%d TENURE_SCALE_ACQUIRES=%d TENURE_SCALE_WORKERS=%d TENURE_SCALE_LOAD=%d TENURE_SCALE_STARTERS=%d TENURE_SCALE_JOIN=%s TENURE_SCALE_SEED=%d go test -tags scale ./node -run TestScale -count=1 -v -timeout 30m",
		total, nv, acquires, workers, int(loadFor/time.Second), starters, join, seed)
	for _, k := range []string{"TENURE_SCALE_PROBE_TIMEOUT_MS", "TENURE_SCALE_SUSPICION_MULT"} {
		if v := os.Getenv(k); v != "" {
			replay = k + "=" + v + " " + replay
		}
	}
	t.Logf("replay: %s", replay)
	voters := names("v", nv)
	others := names("n", total-nv)
	gs := currentGossipSettings()
	if v := os.Getenv("TENURE_SCALE_PROBE_TIMEOUT_MS"); v != "" {
		gs.ProbeTimeout = time.Duration(envInt(t, "TENURE_SCALE_PROBE_TIMEOUT_MS", 0)) * time.Millisecond
	}
	if v := os.Getenv("TENURE_SCALE_SUSPICION_MULT"); v != "" {
		gs.SuspicionMult = envInt(t, "TENURE_SCALE_SUSPICION_MULT", 0)
	}
	if gs != currentGossipSettings() {
		gossipOverride = &gs
		t.Cleanup(func() { gossipOverride = nil })
	}
	fig := scaleFigures{Nodes: total, Voters: nv, Join: join, Seed: seed, Workers: workers, GossipConfig: gs.String()}

	counts := &detectorCounts{}
	began := time.Now()
	c, slowest := startScaleCluster(t, voters, others, join, starters, counts, debug)
	started := time.Now()
	fig.StartS = started.Sub(began).Seconds()
	fig.StartMaxMS = float64(slowest.Microseconds()) / 1000
	t.Logf("started %d nodes in %.1f s (slowest New %.0f ms)", total, fig.StartS, fig.StartMaxMS)

	// Convergence: every node sees every node alive.
	if err := waitConverged(c, total, 3*time.Minute); err != nil {
		s := counts.snapshot()
		t.Fatalf("membership did not converge in 3 minutes: %v; %d suspicions, %d dead declarations, %d refutations so far (replay: %s)",
			err, s[0], s[1], s[2], replay)
	}
	fig.ConvergeMS = float64(time.Since(started).Microseconds()) / 1000
	s0 := counts.snapshot()
	fig.StartSuspects, fig.StartDeaths, fig.StartRefutes = s0[0], s0[1], s0[2]
	t.Logf("converged %.1f s after the last start; %d suspicions, %d dead declarations, %d refutations", fig.ConvergeMS/1000, s0[0], s0[1], s0[2])

	// Quiet window: gossip and failure detection only.
	const window = 10 * time.Second
	if path := os.Getenv("TENURE_SCALE_IDLE_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
	}
	cpu0, pk0, w0 := cpuTime(), voterPackets(c), time.Now()
	time.Sleep(window) // measuring a rate over a fixed window, not waiting for a condition
	elapsed := time.Since(w0).Seconds()
	pprof.StopCPUProfile()
	cpu1, pk1 := cpuTime(), voterPackets(c)
	fig.LoadAverage1M = loadAverage()
	s1 := counts.snapshot()
	fig.IdleSuspects, fig.IdleDeaths, fig.IdleRefutes = s1[0]-s0[0], s1[1]-s0[1], s1[2]-s0[2]
	fig.IdleCPUPercentPerNode = 100 * (cpu1 - cpu0).Seconds() / elapsed / float64(total)
	var idle uint64
	for _, v := range voters {
		idle += pk1[v] - pk0[v]
	}
	fig.IdleDatagramsPerVoter = float64(idle) / elapsed / float64(nv)
	// A live node declared dead comes back once it refutes: membership
	// heals by itself.
	if err := waitConverged(c, total, 3*time.Minute); err != nil {
		t.Fatalf("membership did not heal in 3 minutes after the quiet window: %v (replay: %s)", err, replay)
	}

	// Acquire from random non-voters, each on a fresh name, released at once.
	rnd := rand.New(rand.NewPCG(seed, 0))
	lat := make([]time.Duration, 0, acquires)
	pk0, w0 = voterPackets(c), time.Now()
	for i := range acquires {
		n := c.nodes[others[rnd.IntN(len(others))]]
		name := fmt.Sprintf("scale-%d", i)
		t0 := time.Now()
		l := mustAcquire(t, n, name)
		lat = append(lat, time.Since(t0))
		if h, err := holder(ctx(t, 20*time.Second), c.nodes[voters[0]], name); err != nil || h.Node != n.Name() {
			t.Fatalf("holder of %s: %+v, %v; want %s (replay: %s)", name, h, err, n.Name(), replay)
		}
		// A lease may run out while the holder query waits out a starved
		// round (holder asks again): lost, never taken by another, is an
		// outcome the protocol allows; it is counted.
		if err := l.Release(ctx(t, 20*time.Second)); errors.Is(err, ErrLost) {
			fig.LostBeforeRelease++
		} else if err != nil {
			t.Fatalf("release %s: %v (replay: %s)", name, err, replay)
		}
	}
	elapsed = time.Since(w0).Seconds()
	pk1 = voterPackets(c)
	var busy, most uint64
	for _, v := range voters {
		d := pk1[v] - pk0[v]
		busy += d
		most = max(most, d)
	}
	fig.BusyDatagramsPerVoter = float64(busy) / elapsed / float64(nv)
	fig.BusyDatagramsMaxVoter = float64(most) / elapsed
	fig.DatagramsPerStepPerVoter = float64(busy) / float64(acquires) / float64(nv)
	fig.Acquires = len(lat)
	fig.AcquireP50US = percentile(lat, 50)
	fig.AcquireP99US = percentile(lat, 99)

	// Parallel load: workers goroutines, each with a name of its own on a
	// node of its own (distinct random non-voters while there are enough).
	order := rnd.Perm(len(others))
	var ops, lost atomic.Int64
	lats := make([][]time.Duration, workers)
	fail := make(chan error, workers)
	stop := time.Now().Add(loadFor)
	pk0, w0 = voterPackets(c), time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := c.nodes[others[order[w%len(order)]]]
			name := fmt.Sprintf("load-%d", w)
			for time.Now().Before(stop) {
				cx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				t0 := time.Now()
				l, err := n.Acquire(cx, name)
				if err != nil {
					cancel()
					fail <- fmt.Errorf("%s: Acquire(%q): %w", n.Name(), name, err)
					return
				}
				lats[w] = append(lats[w], time.Since(t0))
				err = l.Release(cx)
				cancel()
				if errors.Is(err, ErrLost) {
					lost.Add(1)
				} else if err != nil {
					fail <- fmt.Errorf("%s: release %q: %w", n.Name(), name, err)
					return
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed = time.Since(w0).Seconds()
	select {
	case err := <-fail:
		t.Fatalf("parallel load: %v (replay: %s)", err, replay)
	default:
	}
	pk1 = voterPackets(c)
	busy, most = 0, 0
	for _, v := range voters {
		d := pk1[v] - pk0[v]
		busy += d
		most = max(most, d)
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	if len(all) == 0 {
		t.Fatalf("parallel load: no acquire completed in %v (replay: %s)", loadFor, replay)
	}
	fig.LoadS = elapsed
	fig.LoadOpsPerS = float64(ops.Load()) / elapsed
	fig.LoadDatagramsPerVoter = float64(busy) / elapsed / float64(nv)
	fig.LoadDatagramsMaxVoter = float64(most) / elapsed
	fig.LoadDatagramsPerOpPerVoter = float64(busy) / float64(ops.Load()) / float64(nv)
	fig.LoadLost = int(lost.Load())
	fig.LoadAcquireP50US = percentile(all, 50)
	fig.LoadAcquireP99US = percentile(all, 99)

	out, err := json.MarshalIndent(fig, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("figures:\n%s", out)
	if path := os.Getenv("TENURE_SCALE_OUT"); path != "" {
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
}

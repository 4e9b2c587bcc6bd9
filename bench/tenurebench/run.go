package tenurebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/node"
)

// Phases of a run, for Config.Phases.
const (
	PhaseAcquire    = "acquire"
	PhaseThroughput = "throughput"
	PhaseFailover   = "failover"
	PhaseHold       = "hold"
	PhaseSim        = "sim"
)

// AllPhases lists every phase in the order a run takes them.
var AllPhases = []string{PhaseAcquire, PhaseThroughput, PhaseFailover, PhaseHold, PhaseSim}

// Config configures a run. DefaultConfig gives the workloads;
// QuickConfig a smoke run of a few seconds.
type Config struct {
	// Binary is the tenure binary to start the agents (`agent`) and the
	// failover holder (`bench holder`) with. Required.
	Binary string
	// Dir is where the run's temporary directory is made; "" means
	// os.TempDir(). The directory is removed afterwards.
	Dir string
	// Phases lists the phases to run (see AllPhases); nil means all.
	// Figures of skipped phases read 0.
	Phases []string
	// Seq is how many sequential acquire-then-release cycles the acquire
	// percentiles come from (after 50 warm-up cycles).
	Seq int
	// Workers and Duration shape the throughput phase: each worker loops
	// acquire-then-release on its own lease name for Duration.
	Workers  int
	Duration time.Duration
	// FailoverRuns is how many holder processes are killed; FailoverTTL the
	// TTL they hold with.
	FailoverRuns int
	FailoverTTL  time.Duration
	// Leases is how many leases the many-lease holder takes, with HoldTTL,
	// before the Window over which renewal traffic and CPU are measured.
	Leases  int
	HoldTTL time.Duration
	Window  time.Duration
	// SimDuration is the simulated time of the simulator phase.
	SimDuration time.Duration
	// Seed drives the failover kill phases.
	Seed uint64
	// HeapProfile, if set, is a file to write a heap profile to once the
	// many-lease holder holds all its leases.
	HeapProfile string
	// Quick marks the result as a smoke run.
	Quick bool
	// Log receives one progress line per phase; nil discards them.
	Log io.Writer
}

// DefaultConfig is the measured run of issue 7.
func DefaultConfig() Config {
	return Config{
		Seq: 2000, Workers: 32, Duration: 5 * time.Second,
		FailoverRuns: 3, FailoverTTL: 2 * time.Second,
		Leases: 10_000, HoldTTL: 10 * time.Second, Window: 20 * time.Second,
		SimDuration: 10 * time.Minute, Seed: 1,
	}
}

// QuickConfig is a smoke run: every figure is produced, in seconds.
func QuickConfig() Config {
	return Config{
		Seq: 100, Workers: 8, Duration: time.Second,
		FailoverRuns: 1, FailoverTTL: time.Second,
		Leases: 500, HoldTTL: 2 * time.Second, Window: 3 * time.Second,
		SimDuration: 30 * time.Second, Seed: 1, Quick: true,
	}
}

// voterNames are the agents' node names.
var voterNames = []string{"bench-v1", "bench-v2", "bench-v3"}

// runner holds one run's state.
type runner struct {
	cfg    Config
	dir    string
	maxTTL time.Duration
	cl     *cluster
	client *node.Node
	res    *Result
	rnd    *rand.Rand
}

// Run starts the cluster, runs the phases and stops everything, on error
// too. The figures of a failed phase are not returned: any error fails
// the run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Binary == "" {
		return nil, errors.New("tenurebench: Config.Binary is empty")
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Phases == nil {
		cfg.Phases = AllPhases
	}
	for _, p := range cfg.Phases {
		if !slices.Contains(AllPhases, p) {
			return nil, fmt.Errorf("tenurebench: unknown phase %q (want some of %s)", p, strings.Join(AllPhases, ","))
		}
	}
	start := time.Now()
	dir, err := os.MkdirTemp(cfg.Dir, "tenure-bench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	r := &runner{
		cfg: cfg, dir: dir,
		maxTTL: max(node.DefaultMaxTTL, cfg.HoldTTL, cfg.FailoverTTL),
		res:    &Result{System: "tenure", Machine: machineInfo(), Quick: cfg.Quick, Seed: cfg.Seed},
		rnd:    rand.New(rand.NewPCG(cfg.Seed, 0x7e4e)),
	}
	err = r.run(ctx)
	if r.client != nil {
		_ = r.client.Shutdown()
	}
	if r.cl != nil {
		r.cl.stop()
	}
	if err != nil {
		return nil, err
	}
	if r.has(PhaseSim) {
		if err := r.simPhase(); err != nil {
			return nil, err
		}
	}
	r.res.Machine.LoadAfter = loadAvg()
	r.res.ElapsedS = time.Since(start).Seconds()
	return r.res, nil
}

func (r *runner) has(phase string) bool { return slices.Contains(r.cfg.Phases, phase) }

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "tenure bench: "+format+"\n", args...)
}

// run starts the agents and the client node and runs the cluster phases.
func (r *runner) run(ctx context.Context) error {
	needCluster := false
	for _, p := range []string{PhaseAcquire, PhaseThroughput, PhaseFailover, PhaseHold} {
		needCluster = needCluster || r.has(p)
	}
	if !needCluster {
		return nil
	}
	var err error
	r.cl, err = startCluster(ctx, r.cfg.Binary, r.dir, voterNames, r.maxTTL)
	if err != nil {
		return err
	}
	r.logf("three voter agents up: %s", strings.Join(r.cl.gossipAddrs(), " "))
	r.client, err = r.newNode("bench-client")
	if err != nil {
		return err
	}
	if err := r.warmUp(ctx, r.client); err != nil {
		return err
	}
	steps := []struct {
		phase string
		run   func(context.Context) error
	}{
		{PhaseAcquire, r.acquirePhase},
		{PhaseThroughput, r.throughputPhase},
		{PhaseFailover, r.failoverPhase},
		{PhaseHold, r.holdPhase},
	}
	for _, s := range steps {
		if !r.has(s.phase) {
			continue
		}
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("%s phase: %w", s.phase, err)
		}
		if err := r.cl.alive(); err != nil {
			return fmt.Errorf("after the %s phase: %w", s.phase, err)
		}
	}
	return nil
}

// newNode starts a non-voter node in this process, joined to the agents,
// and waits until gossip has told it every voter's address.
func (r *runner) newNode(name string) (*node.Node, error) {
	data := filepath.Join(r.dir, name)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	n, err := node.New(node.Config{
		Name: name, BindAddr: "127.0.0.1", Join: r.cl.gossipAddrs(), Voters: voterNames,
		DataDir: data, MaxTTL: r.maxTTL, NewCluster: true, // a non-voter of the new bench cluster
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := waitRoutes(ctx, n, voterNames); err != nil {
		_ = n.Shutdown()
		return nil, err
	}
	return n, nil
}

// warmUp runs a few acquire-release cycles so that routes, buffers and the
// voters' first era are in place before anything is timed.
func (r *runner) warmUp(ctx context.Context, n *node.Node) error {
	for i := range 50 {
		if _, _, err := cycle(ctx, n, fmt.Sprintf("warm-%d", i%5), 0); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	return nil
}

// cycle acquires name, then releases it, and returns how long each took.
func cycle(ctx context.Context, n *node.Node, name string, ttl time.Duration) (acq, rel time.Duration, err error) {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var opts []node.AcquireOption
	if ttl > 0 {
		opts = append(opts, node.WithTTL(ttl))
	}
	t0 := time.Now()
	l, err := n.Acquire(cctx, name, opts...)
	if err != nil {
		return 0, 0, fmt.Errorf("acquire %q: %w", name, err)
	}
	t1 := time.Now()
	if err := l.Release(cctx); err != nil {
		return 0, 0, fmt.Errorf("release %q: %w", name, err)
	}
	return t1.Sub(t0), time.Since(t1), nil
}

// acquirePhase: Seq sequential acquire-then-release cycles of one name.
func (r *runner) acquirePhase(ctx context.Context) error {
	acq := make([]time.Duration, 0, r.cfg.Seq)
	rel := make([]time.Duration, 0, r.cfg.Seq)
	for range r.cfg.Seq {
		a, b, err := cycle(ctx, r.client, "bench-seq", 0)
		if err != nil {
			return err
		}
		acq, rel = append(acq, a), append(rel, b)
	}
	l := summarize(acq, rel)
	res := r.res
	res.AcquireCount, res.AcquireP50us, res.AcquireP99us = l.Count, l.P50us, l.P99us
	res.AcquireMeanUs, res.AcquireMaxUs, res.ReleaseP50us = l.MeanUs, l.MaxUs, l.RelP50
	for _, a := range acq {
		if a > 100*time.Millisecond {
			res.AcquireSlow++
		}
	}
	r.logf("acquire: %d cycles, p50 %.0fµs p99 %.0fµs max %.0fµs, %d over 100ms (release p50 %.0fµs)",
		res.AcquireCount, res.AcquireP50us, res.AcquireP99us, res.AcquireMaxUs, res.AcquireSlow, res.ReleaseP50us)
	return nil
}

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

	"github.com/tenure-dev/tenure/bench/benchutil"
	"github.com/tenure-dev/tenure/node"
)

// Phases of a run, for Config.Phases.
const (
	// PhaseCurve: acquire latency and throughput at each concurrency.
	PhaseCurve = "curve"
	// PhaseFailover: kill a holder process, time the waiter's grant.
	PhaseFailover = "failover"
	// PhaseHold: one node holding many leases, renewing them.
	PhaseHold = "hold"
	// PhaseSim: the deterministic simulator's speed.
	PhaseSim = "sim"
)

// AllPhases lists every phase in the order a run takes them.
var AllPhases = []string{PhaseCurve, PhaseFailover, PhaseHold, PhaseSim}

// Workload is the work both sides of the etcd comparison run.
type Workload = benchutil.Workload

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
	// Workload shapes the curve, failover and hold phases; the etcd side
	// runs the same (bench/etcd).
	Workload
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

// DefaultConfig is the measured run of issue 16.
func DefaultConfig() Config {
	return Config{Workload: benchutil.DefaultWorkload(), SimDuration: 10 * time.Minute, Seed: 1}
}

// QuickConfig is a smoke run: every figure is produced, in seconds.
func QuickConfig() Config {
	return Config{Workload: benchutil.QuickWorkload(), SimDuration: 30 * time.Second, Seed: 1, Quick: true}
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
	if err := cfg.Workload.Check(); err != nil {
		return nil, fmt.Errorf("tenurebench: %w", err)
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
		res:    &Result{System: "tenure", Machine: machineInfo(), Quick: cfg.Quick, Seed: cfg.Seed, Started: start.UTC()},
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
	for _, p := range []string{PhaseCurve, PhaseFailover, PhaseHold} {
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
		{PhaseCurve, r.curvePhase},
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

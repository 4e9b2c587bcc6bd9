package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"github.com/tenure-dev/tenure/bench/benchutil"
)

// config shapes a run: the Workload is tenure bench's (benchutil), except
// that etcd holds only the first count of Leases by default (the held-lease
// targets are tenure's own; etcd's figure is there for comparison).
type config struct {
	benchutil.Workload
	Endpoints  []string
	ServerPIDs []int
	Binary     string
	Phases     []string
	Seed       uint64
	Quick      bool
	Log        io.Writer
}

// phases of a run, in order.
var allPhases = []string{"curve", "failover", "hold"}

func defaultConfig() config {
	w := benchutil.DefaultWorkload()
	w.Leases = w.Leases[:1]
	return config{Workload: w, Phases: allPhases, Seed: 1}
}

func quickConfig() config {
	w := benchutil.QuickWorkload()
	w.Leases = w.Leases[:1]
	return config{Workload: w, Phases: allPhases, Seed: 1, Quick: true}
}

// check refuses a configuration etcd cannot run: its lease TTLs are whole
// seconds.
func (c config) check() error {
	if err := c.Workload.Check(); err != nil {
		return err
	}
	for _, d := range []time.Duration{c.FailoverTTL, c.HoldTTL} {
		if d%time.Second != 0 {
			return fmt.Errorf("--failover-ttl %v and --hold-ttl %v must be whole seconds (etcd's lease TTLs are)", c.FailoverTTL, c.HoldTTL)
		}
	}
	for _, p := range c.Phases {
		if !slices.Contains(allPhases, p) {
			return fmt.Errorf("--phases: unknown phase %q (want some of %s)", p, strings.Join(allPhases, ","))
		}
	}
	return nil
}

// result is the JSON shape both sides write.
type result = benchutil.Result

type runner struct {
	cfg config
	cli *clientv3.Client
	res *result
	rnd *rand.Rand
	pfx string // key prefix of this run
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "etcdbench: "+format+"\n", args...)
}

func newClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
}

// run measures the workloads against the cluster at cfg.Endpoints.
func run(ctx context.Context, cfg config) (*result, error) {
	start := time.Now()
	cli, err := newClient(cfg.Endpoints)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	r := &runner{cfg: cfg, cli: cli, rnd: rand.New(rand.NewPCG(cfg.Seed, 0x7e4e)),
		pfx: fmt.Sprintf("/etcdbench/%d-%d/", os.Getpid(), start.UnixNano()),
		res: &result{System: "etcd", Machine: benchutil.MachineInfo(), Quick: cfg.Quick, Seed: cfg.Seed, Started: start.UTC()}}
	if err := r.waitHealthy(ctx); err != nil {
		return nil, err
	}
	for _, step := range []struct {
		name string
		f    func(context.Context) error
	}{{"curve", r.curvePhase}, {"failover", r.failoverPhase}, {"hold", r.holdPhase}} {
		if !slices.Contains(cfg.Phases, step.name) {
			continue
		}
		if err := step.f(ctx); err != nil {
			return nil, fmt.Errorf("%s phase: %w", step.name, err)
		}
	}
	r.res.Machine.LoadAfter = benchutil.LoadAvg()
	r.res.ElapsedS = time.Since(start).Seconds()
	return r.res, nil
}

// waitHealthy waits until a write succeeds (the members may still be
// electing a leader).
func (r *runner) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := r.cli.Put(pctx, r.pfx+"health", "ok")
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd at %v not writable after 30s: %w", r.cfg.Endpoints, err)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// lockCycle locks and unlocks one mutex and returns how long each took.
func lockCycle(ctx context.Context, s *concurrency.Session, key string) (acq, rel time.Duration, err error) {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	m := concurrency.NewMutex(s, key)
	t0 := time.Now()
	if err := m.Lock(cctx); err != nil {
		return 0, 0, fmt.Errorf("lock %q: %w", key, err)
	}
	t1 := time.Now()
	if err := m.Unlock(cctx); err != nil {
		return 0, 0, fmt.Errorf("unlock %q: %w", key, err)
	}
	return t1.Sub(t0), time.Since(t1), nil
}

// curvePhase: at each concurrency of Workers, in each session mode, that
// many workers loop Lock-then-Unlock for Duration, each on a mutex of its
// own (benchutil.Curve, as on the tenure side). Shared session: one
// concurrency.Session for all the workers, a Mutex per name, as users
// write it. Session per worker: each worker its own Session. The sessions
// are made before the timing starts (no lease grant per cycle).
func (r *runner) curvePhase(ctx context.Context) error {
	for _, mode := range []string{benchutil.ModeSharedSession, benchutil.ModeSessionPerWorker} {
		for _, w := range r.cfg.Workers {
			p, err := r.curvePoint(ctx, mode, w)
			if err != nil {
				return fmt.Errorf("%s, %d workers: %w", mode, w, err)
			}
			r.res.Curve = append(r.res.Curve, p)
			r.logf("curve: %s, %3d workers: acquire p50 %.0fµs p99 %.0fµs, %.0f cycles/s (%d cycles in %.2fs, %d errors)",
				mode, w, p.AcquireP50us, p.AcquireP99us, p.ThroughputPerS, p.Cycles, p.WindowS, p.Errors)
		}
	}
	return nil
}

func (r *runner) curvePoint(ctx context.Context, mode string, workers int) (benchutil.CurvePoint, error) {
	n := 1
	if mode == benchutil.ModeSessionPerWorker {
		n = workers
	}
	sessions := make([]*concurrency.Session, n)
	for i := range sessions {
		s, err := concurrency.NewSession(r.cli, concurrency.WithTTL(60))
		if err != nil {
			return benchutil.CurvePoint{}, err
		}
		defer s.Close()
		sessions[i] = s
	}
	return benchutil.Curve(ctx, mode, workers, r.cfg.Duration, func(ctx context.Context, i int) (time.Duration, time.Duration, error) {
		return lockCycle(ctx, sessions[i%n], fmt.Sprintf("%scurve/%s/%d/%d/", r.pfx, mode, workers, i))
	})
}

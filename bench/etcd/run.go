package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// config shapes a run; defaultConfig mirrors tenurebench.DefaultConfig.
type config struct {
	Endpoints    []string
	ServerPIDs   []int
	Binary       string
	Seq          int
	Workers      int
	Duration     time.Duration
	FailoverRuns int
	FailoverTTL  int // seconds: etcd's lease TTLs are whole seconds
	Leases       int
	HoldTTL      int // seconds
	Window       time.Duration
	Seed         uint64
	Quick        bool
	Log          io.Writer
}

func defaultConfig() config {
	return config{Seq: 2000, Workers: 32, Duration: 5 * time.Second, FailoverRuns: 3, FailoverTTL: 2,
		Leases: 10_000, HoldTTL: 10, Window: 20 * time.Second, Seed: 1}
}

func quickConfig() config {
	return config{Seq: 100, Workers: 8, Duration: time.Second, FailoverRuns: 1, FailoverTTL: 2,
		Leases: 500, HoldTTL: 2, Window: 3 * time.Second, Seed: 1, Quick: true}
}

// result has tenurebench.Result's JSON keys where they apply to etcd.
// renew_packets_per_s does not: the many-lock holder renews one session
// lease for all its mutexes over a TCP stream.
type result struct {
	System            string    `json:"system"`
	AcquireP50us      float64   `json:"acquire_p50_us"`
	AcquireP99us      float64   `json:"acquire_p99_us"`
	ThroughputPerS    float64   `json:"throughput_per_s"`
	FailoverMs        float64   `json:"failover_ms"`
	CPUPercent        float64   `json:"cpu_percent"`
	BytesPerLease     float64   `json:"bytes_per_lease"`
	AcquireCount      int       `json:"acquire_count"`
	AcquireMeanUs     float64   `json:"acquire_mean_us"`
	AcquireMaxUs      float64   `json:"acquire_max_us"`
	ReleaseP50us      float64   `json:"release_p50_us"`
	ThroughputWorkers int       `json:"throughput_workers"`
	ThroughputWindowS float64   `json:"throughput_window_s"`
	ThroughputCycles  int64     `json:"throughput_cycles"`
	ThroughputErrors  int64     `json:"throughput_errors"`
	FailoverTTLMs     float64   `json:"failover_ttl_ms"`
	FailoverMedianMs  float64   `json:"failover_median_ms"`
	FailoverRunsMs    []float64 `json:"failover_runs_ms"`
	HeldLeases        int       `json:"held_leases"`
	HeldTTLMs         float64   `json:"held_ttl_ms"`
	HoldAcquireS      float64   `json:"hold_acquire_s"`
	HoldWindowS       float64   `json:"hold_window_s"`
	VoterCPUPercent   float64   `json:"voter_cpu_percent"` // per etcd member
	Machine           machine   `json:"machine"`
	Quick             bool      `json:"quick"`
	Seed              uint64    `json:"seed"`
	ElapsedS          float64   `json:"elapsed_s"`
}

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
		res: &result{System: "etcd", Machine: machineInfo(), Quick: cfg.Quick, Seed: cfg.Seed}}
	if err := r.waitHealthy(ctx); err != nil {
		return nil, err
	}
	for _, step := range []struct {
		name string
		f    func(context.Context) error
	}{{"acquire", r.acquirePhase}, {"throughput", r.throughputPhase}, {"failover", r.failoverPhase}, {"hold", r.holdPhase}} {
		if err := step.f(ctx); err != nil {
			return nil, fmt.Errorf("%s phase: %w", step.name, err)
		}
	}
	r.res.Machine.LoadAfter = loadAvg()
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

// acquirePhase: Seq sequential Lock-then-Unlock cycles of one mutex on a
// reused session (etcd's best case: no lease grant per cycle).
func (r *runner) acquirePhase(ctx context.Context) error {
	s, err := concurrency.NewSession(r.cli, concurrency.WithTTL(60))
	if err != nil {
		return err
	}
	defer s.Close()
	key := r.pfx + "seq/"
	for range 50 { // warm-up, as on the tenure side
		if _, _, err := lockCycle(ctx, s, key); err != nil {
			return err
		}
	}
	acq := make([]time.Duration, 0, r.cfg.Seq)
	rel := make([]time.Duration, 0, r.cfg.Seq)
	for range r.cfg.Seq {
		a, b, err := lockCycle(ctx, s, key)
		if err != nil {
			return err
		}
		acq, rel = append(acq, a), append(rel, b)
	}
	l := summarize(acq, rel)
	res := r.res
	res.AcquireCount, res.AcquireP50us, res.AcquireP99us = l.Count, l.P50us, l.P99us
	res.AcquireMeanUs, res.AcquireMaxUs, res.ReleaseP50us = l.MeanUs, l.MaxUs, l.RelP50
	r.logf("acquire: %d cycles, p50 %.0fµs p99 %.0fµs max %.0fµs (unlock p50 %.0fµs)",
		res.AcquireCount, res.AcquireP50us, res.AcquireP99us, res.AcquireMaxUs, res.ReleaseP50us)
	return nil
}

// throughputPhase: Workers goroutines, each with its own session and
// mutex, looping Lock-then-Unlock for Duration.
func (r *runner) throughputPhase(ctx context.Context) error {
	sessions := make([]*concurrency.Session, r.cfg.Workers)
	for i := range sessions {
		s, err := concurrency.NewSession(r.cli, concurrency.WithTTL(60))
		if err != nil {
			return err
		}
		defer s.Close()
		sessions[i] = s
	}
	var cycles, errs atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	t0 := time.Now()
	stop := t0.Add(r.cfg.Duration)
	for w, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("%stp/%d/", r.pfx, w)
			for time.Now().Before(stop) && ctx.Err() == nil {
				if _, _, err := lockCycle(ctx, s, key); err != nil {
					errs.Add(1)
					once.Do(func() { firstErr = err })
					continue
				}
				cycles.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	res := r.res
	res.ThroughputWorkers = r.cfg.Workers
	res.ThroughputWindowS = el.Seconds()
	res.ThroughputCycles = cycles.Load()
	res.ThroughputErrors = errs.Load()
	res.ThroughputPerS = float64(res.ThroughputCycles) / el.Seconds()
	r.logf("throughput: %d workers, %d cycles in %.2fs: %.0f/s (%d errors)",
		res.ThroughputWorkers, res.ThroughputCycles, el.Seconds(), res.ThroughputPerS, res.ThroughputErrors)
	if res.ThroughputCycles == 0 {
		return fmt.Errorf("no cycle completed: %v", firstErr)
	}
	return nil
}

// failoverPhase: a holder process holds a Mutex on a session of TTL
// FailoverTTL; a waiter here blocks in Lock; the holder gets SIGKILL at a
// random instant within its keep-alive period; the figure is kill to Lock
// returning. FailoverMs is the worst run, as on the tenure side.
func (r *runner) failoverPhase(ctx context.Context) error {
	ttl := time.Duration(r.cfg.FailoverTTL) * time.Second
	var runs []float64
	for i := range r.cfg.FailoverRuns {
		d, err := r.failoverOnce(ctx, i, ttl)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		runs = append(runs, ms(d))
		r.logf("failover %d/%d at TTL %v: %.1f ms", i+1, r.cfg.FailoverRuns, ttl, ms(d))
	}
	res := r.res
	res.FailoverTTLMs = ms(ttl)
	res.FailoverRunsMs = runs
	res.FailoverMedianMs = median(runs)
	for _, x := range runs {
		res.FailoverMs = max(res.FailoverMs, x)
	}
	return nil
}

func (r *runner) failoverOnce(ctx context.Context, i int, ttl time.Duration) (time.Duration, error) {
	key := fmt.Sprintf("%sfailover/%d/", r.pfx, i)
	cmd := exec.Command(r.cfg.Binary, "holder", "--endpoints", strings.Join(r.cfg.Endpoints, ","),
		"--key", key, "--ttl", fmt.Sprint(r.cfg.FailoverTTL))
	cmd.Stderr = r.cfg.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	select {
	case l := <-lines:
		if l != "held" {
			return 0, fmt.Errorf("holder said %q", l)
		}
	case <-exited:
		return 0, errors.New("holder exited before holding")
	case <-time.After(30 * time.Second):
		return 0, errors.New("holder did not hold within 30s")
	}

	s, err := concurrency.NewSession(r.cli, concurrency.WithTTL(r.cfg.FailoverTTL))
	if err != nil {
		return 0, err
	}
	defer s.Close()
	m := concurrency.NewMutex(s, key)
	type got struct {
		err error
		at  time.Time
	}
	wctx, cancel := context.WithTimeout(ctx, 10*ttl+10*time.Second)
	defer cancel()
	ch := make(chan got, 1)
	go func() {
		err := m.Lock(wctx)
		ch <- got{err, time.Now()}
	}()
	// Kill at a random phase of the holder's keep-alive period (TTL/3).
	wait := 300*time.Millisecond + time.Duration(r.rnd.Int64N(int64(ttl/3)))
	select {
	case g := <-ch:
		return 0, fmt.Errorf("the waiter returned while the holder lived: %v", g.err)
	case <-time.After(wait):
	}
	t0 := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		return 0, err
	}
	g := <-ch
	if g.err != nil {
		return 0, fmt.Errorf("waiter: %w", g.err)
	}
	d := g.at.Sub(t0)
	return d, m.Unlock(ctx)
}

// holdMutex is the failover holder process: Lock on a session of ttl
// seconds, print "held", wait to be killed (or for ctx, then unlock).
func holdMutex(ctx context.Context, endpoints []string, key string, ttl int, out io.Writer) error {
	cli, err := newClient(endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl))
	if err != nil {
		return err
	}
	defer s.Close()
	m := concurrency.NewMutex(s, key)
	lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := m.Lock(lctx); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, "held"); err != nil {
		return err
	}
	select {
	case <-s.Done():
		return errors.New("session expired")
	case <-ctx.Done():
	}
	uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ucancel()
	return m.Unlock(uctx)
}

// holdPhase: Leases mutexes held on one session of TTL HoldTTL (one lease
// keep-alive renews them all); the client's CPU over Window, its heap per
// mutex, and the members' CPU.
func (r *runner) holdPhase(ctx context.Context) error {
	s, err := concurrency.NewSession(r.cli, concurrency.WithTTL(r.cfg.HoldTTL))
	if err != nil {
		return err
	}
	defer s.Close()
	runtime.GC()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	held := make([]*concurrency.Mutex, r.cfg.Leases)
	work := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				m := concurrency.NewMutex(s, fmt.Sprintf("%shold/%05d/", r.pfx, i))
				lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err := m.Lock(lctx)
				cancel()
				if err != nil {
					once.Do(func() { firstErr = err })
					continue
				}
				held[i] = m
			}
		}()
	}
	for i := range r.cfg.Leases {
		work <- i
	}
	close(work)
	wg.Wait()
	acquired := time.Since(t0)
	if firstErr != nil {
		return fmt.Errorf("locking %d mutexes: %w", r.cfg.Leases, firstErr)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	res := r.res
	res.HeldLeases = r.cfg.Leases
	res.HeldTTLMs = float64(r.cfg.HoldTTL) * 1000
	res.HoldAcquireS = acquired.Seconds()
	res.BytesPerLease = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(r.cfg.Leases)
	r.logf("hold: %d mutexes (session TTL %ds) locked in %.2fs, %.0f heap bytes each; measuring %v",
		r.cfg.Leases, r.cfg.HoldTTL, acquired.Seconds(), res.BytesPerLease, r.cfg.Window)
	c0, w0 := selfCPU(), time.Now()
	v0, verr := serversCPU(r.cfg.ServerPIDs)
	if err := sleepCtx(ctx, r.cfg.Window); err != nil {
		return err
	}
	c1, el := selfCPU(), time.Since(w0)
	v1, verr1 := serversCPU(r.cfg.ServerPIDs)
	sec := el.Seconds()
	res.HoldWindowS = sec
	res.CPUPercent = 100 * (c1 - c0).Seconds() / sec
	if verr == nil && verr1 == nil && len(r.cfg.ServerPIDs) > 0 {
		res.VoterCPUPercent = 100 * (v1 - v0).Seconds() / float64(len(r.cfg.ServerPIDs)) / sec
	}
	select {
	case <-s.Done():
		return errors.New("the many-lock session expired during the window")
	default:
	}
	runtime.KeepAlive(held)
	r.logf("hold: client CPU %.2f%%, members' CPU %.2f%% each", res.CPUPercent, res.VoterCPUPercent)
	return nil
}

// serversCPU is the etcd members' total CPU time so far.
func serversCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range pids {
		d, err := pidCPU(p)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

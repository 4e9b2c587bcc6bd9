package tenurebench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenure-dev/tenure/node"
	"github.com/tenure-dev/tenure/sim"
)

// throughputPhase: Workers goroutines, each looping acquire-then-release
// on its own lease name, for Duration. Cycles still in flight at the end
// are waited for and counted, over the actual elapsed time.
func (r *runner) throughputPhase(ctx context.Context) error {
	var cycles, errs atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	t0 := time.Now()
	stop := t0.Add(r.cfg.Duration)
	for w := range r.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("bench-tp-%d", w)
			for time.Now().Before(stop) && ctx.Err() == nil {
				if _, _, err := cycle(ctx, r.client, name, 0); err != nil {
					errs.Add(1)
					errOnce.Do(func() { firstErr = err })
					continue
				}
				cycles.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	if err := ctx.Err(); err != nil {
		return err
	}
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

// failoverPhase: per run, a holder process takes a lease with FailoverTTL,
// a waiter here blocks in Acquire, and at a random instant within the
// holder's renewal period the holder gets SIGKILL. The figure is the time
// from the kill to the waiter's grant; FailoverMs is the worst run.
func (r *runner) failoverPhase(ctx context.Context) error {
	ttl := r.cfg.FailoverTTL
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
	res.FailoverBoundMs = ms(ttl)*(1+2*node.DefaultMaxDrift) + 100
	return nil
}

func (r *runner) failoverOnce(ctx context.Context, i int, ttl time.Duration) (time.Duration, error) {
	lease := fmt.Sprintf("bench-failover-%d", i)
	h, err := startHolder(ctx, r.cfg.Binary, r.dir, fmt.Sprintf("bench-holder-%d", i), lease, ttl, r.cl, r.maxTTL)
	if err != nil {
		return 0, err
	}
	defer h.kill()
	type got struct {
		l   *node.Lease
		err error
		at  time.Time
	}
	wctx, cancel := context.WithTimeout(ctx, 10*ttl+10*time.Second)
	defer cancel()
	ch := make(chan got, 1)
	go func() {
		l, err := r.client.Acquire(wctx, lease, node.WithTTL(ttl))
		ch <- got{l, err, time.Now()}
	}()
	// Let the waiter's request reach the voters, then kill at a random
	// phase of the holder's renewal period (renewals come every TTL/2).
	wait := 300*time.Millisecond + time.Duration(r.rnd.Int64N(int64(ttl/2)))
	select {
	case g := <-ch:
		if g.l != nil {
			_ = g.l.Release(ctx)
		}
		return 0, fmt.Errorf("the waiter returned while the holder lived (holder token %s): %v", h.token, g.err)
	case <-time.After(wait):
	}
	t0 := time.Now()
	if err := h.cmd.Process.Kill(); err != nil {
		return 0, err
	}
	g := <-ch
	if g.err != nil {
		return 0, fmt.Errorf("waiter: %w", g.err)
	}
	d := g.at.Sub(t0)
	if err := g.l.Release(ctx); err != nil {
		return 0, err
	}
	return d, nil
}

// holdPhase: a fresh node in this process (the client is stopped first,
// so this process runs nothing else) takes Leases leases with HoldTTL,
// then renewal traffic, CPU and heap are measured over Window.
func (r *runner) holdPhase(ctx context.Context) error {
	_ = r.client.Shutdown()
	r.client = nil
	runtime.GC()
	h, err := r.newNode("bench-many")
	if err != nil {
		return err
	}
	r.client = h // stopped by Run
	if _, _, err := cycle(ctx, h, "bench-many-warm", 0); err != nil {
		return err
	}
	runtime.GC()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)

	t0 := time.Now()
	held := make([]*node.Lease, r.cfg.Leases)
	work := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				actx, cancel := context.WithTimeout(ctx, 30*time.Second)
				l, err := h.Acquire(actx, fmt.Sprintf("bench-hold-%05d", i), node.WithTTL(r.cfg.HoldTTL))
				cancel()
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				held[i] = l
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
		return fmt.Errorf("acquiring %d leases: %w", r.cfg.Leases, firstErr)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	res := r.res
	res.HeldLeases = r.cfg.Leases
	res.HeldTTLMs = ms(r.cfg.HoldTTL)
	res.HoldAcquireS = acquired.Seconds()
	res.BytesPerLease = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(r.cfg.Leases)
	res.HeapBytesPerLease = res.BytesPerLease
	if r.cfg.HeapProfile != "" {
		if err := writeHeapProfile(r.cfg.HeapProfile); err != nil {
			return err
		}
	}
	r.logf("hold: %d leases (TTL %v) acquired in %.2fs, %.0f heap bytes per lease; measuring %v of renewals",
		r.cfg.Leases, r.cfg.HoldTTL, acquired.Seconds(), res.BytesPerLease, r.cfg.Window)

	s0, c0, w0 := h.Stats(), selfCPU(), time.Now()
	v0, verr := r.cl.cpu()
	select {
	case <-time.After(r.cfg.Window):
	case <-ctx.Done():
		return ctx.Err()
	}
	s1, c1, el := h.Stats(), selfCPU(), time.Since(w0)
	v1, verr1 := r.cl.cpu()
	sec := el.Seconds()
	voters := float64(len(voterNames))
	res.HoldWindowS = sec
	res.RenewPacketsPerS = float64(s1.PacketsSent-s0.PacketsSent) / voters / sec
	res.RenewBytesPerS = float64(s1.BytesSent-s0.BytesSent) / voters / sec
	res.RenewPacketsInPS = float64(s1.PacketsReceived-s0.PacketsReceived) / sec
	res.CPUPercent = 100 * (c1 - c0).Seconds() / sec
	if verr == nil && verr1 == nil {
		res.VoterCPUPercent = 100 * (v1 - v0).Seconds() / voters / sec
	}
	res.DroppedDatagrams = s1.DroppedFull - s0.DroppedFull
	lost := 0
	for _, l := range held {
		if l == nil || l.Err() != nil {
			lost++
		}
	}
	res.HeldAtEnd = len(held) - lost
	runtime.KeepAlive(held)
	r.logf("hold: %.1f packets/s to each voter (%.0f B/s), holder CPU %.2f%%, voter CPU %.2f%% each, %d/%d still held",
		res.RenewPacketsPerS, res.RenewBytesPerS, res.CPUPercent, res.VoterCPUPercent, res.HeldAtEnd, len(held))
	if lost > 0 {
		return fmt.Errorf("%d of %d leases were lost during the window", lost, len(held))
	}
	return nil
}

// writeHeapProfile writes the heap profile (after a GC) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// simPhase runs the deterministic simulator with its default options for
// SimDuration of simulated time and records its events per second.
func (r *runner) simPhase() error {
	opts := sim.DefaultOptions()
	opts.Seed = r.cfg.Seed
	opts.Duration = r.cfg.SimDuration
	sr, err := sim.Run(opts)
	if err != nil {
		return fmt.Errorf("sim phase: %w", err)
	}
	if sr.Violation != nil {
		return fmt.Errorf("sim phase: violation at seed %d", sr.Seed)
	}
	if sr.Wall > 0 {
		r.res.SimEventsPerS = float64(sr.Events) / sr.Wall.Seconds()
	}
	r.logf("sim: %d events in %.2fs: %.0f events/s", sr.Events, sr.Wall.Seconds(), r.res.SimEventsPerS)
	return nil
}

package tenurebench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenure-dev/tenure/bench/benchutil"
	"github.com/tenure-dev/tenure/node"
	"github.com/tenure-dev/tenure/sim"
)

// curvePhase: at each concurrency of Workers, that many goroutines loop
// acquire-then-release for Duration, each on a lease name of its own,
// all through the one client node (benchutil.Curve).
func (r *runner) curvePhase(ctx context.Context) error {
	for _, w := range r.cfg.Workers {
		p, err := benchutil.Curve(ctx, benchutil.ModeNode, w, r.cfg.Duration, func(ctx context.Context, i int) (time.Duration, time.Duration, error) {
			return cycle(ctx, r.client, fmt.Sprintf("bench-c%d-w%d", w, i), 0)
		})
		if err != nil {
			return err
		}
		r.res.Curve = append(r.res.Curve, p)
		r.logf("curve: %3d workers: acquire p50 %.0fµs p99 %.0fµs, %.0f cycles/s (%d cycles in %.2fs, %d errors)",
			w, p.AcquireP50us, p.AcquireP99us, p.ThroughputPerS, p.Cycles, p.WindowS, p.Errors)
	}
	return nil
}

// failoverPhase: per run, a holder process takes a lease with FailoverTTL,
// a waiter here blocks in Acquire, and at a random instant within the
// holder's renewal period the holder gets SIGKILL. The figure is the time
// from the kill to the waiter's grant; FailoverMs is the worst run.
func (r *runner) failoverPhase(ctx context.Context) error {
	f, err := benchutil.RunFailovers(ctx, r.cfg.FailoverRuns, r.cfg.FailoverTTL, r.failoverOnce, r.logf)
	if err != nil {
		return err
	}
	f.MaxDrift = node.DefaultMaxDrift
	r.res.Failover = f
	return nil
}

func (r *runner) failoverOnce(ctx context.Context, i int, ttl time.Duration) (time.Duration, error) {
	lease := fmt.Sprintf("bench-failover-%d", i)
	h, err := startHolder(ctx, r.cfg.Binary, r.dir, fmt.Sprintf("bench-holder-%d", i), lease, ttl, r.cl, r.maxTTL)
	if err != nil {
		return 0, err
	}
	defer h.kill()
	// Let the waiter's request reach the voters, then kill at a random
	// phase of the holder's renewal period (renewals come every TTL/2).
	wait := 300*time.Millisecond + time.Duration(r.rnd.Int64N(int64(ttl/2)))
	l, d, err := benchutil.TimeFailover(ctx, 10*ttl+10*time.Second, wait, func(wctx context.Context) (*node.Lease, error) {
		return r.client.Acquire(wctx, lease, node.WithTTL(ttl))
	}, h.cmd.Process.Kill)
	if errors.Is(err, benchutil.ErrWaiterEarly) {
		if l != nil {
			_ = l.Release(ctx)
		}
		return 0, fmt.Errorf("%w (holder token %s)", err, h.token)
	}
	if err != nil {
		return 0, err
	}
	if err := l.Release(ctx); err != nil {
		return 0, err
	}
	return d, nil
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

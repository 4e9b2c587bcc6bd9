package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/tenure-dev/tenure/bench/benchutil"
)

// holdPhase: mutexes held on one session of TTL HoldTTL (one lease
// keep-alive renews them all, etcd's cheapest way), up to each count of
// Leases in turn, as on the tenure side; at each count the client's CPU
// over Window, its heap per mutex, and the members' CPU.
func (r *runner) holdPhase(ctx context.Context) error {
	s, err := concurrency.NewSession(r.cli, concurrency.WithTTL(int(r.cfg.HoldTTL/time.Second)))
	if err != nil {
		return err
	}
	defer s.Close()
	held := make([]*concurrency.Mutex, 0, r.cfg.Leases[len(r.cfg.Leases)-1])
	heap0 := benchutil.HeapAfterGC()
	for _, c := range r.cfg.Leases {
		added := c - len(held)
		t0 := time.Now()
		if held, err = r.lockMany(ctx, s, held, c); err != nil {
			return err
		}
		p := benchutil.HoldPoint{
			Leases: c, Added: added, TTLMs: benchutil.MS(r.cfg.HoldTTL), AcquireS: time.Since(t0).Seconds(),
			BytesPerLease: float64(int64(benchutil.HeapAfterGC())-int64(heap0)) / float64(c),
		}
		r.logf("hold: %d mutexes (session TTL %v; %d added in %.2fs), %.0f heap bytes each; measuring %v",
			c, r.cfg.HoldTTL, added, p.AcquireS, p.BytesPerLease, r.cfg.Window)
		c0, w0 := benchutil.SelfCPU(), time.Now()
		v0, verr := serversCPU(r.cfg.ServerPIDs)
		if err := sleepCtx(ctx, r.cfg.Window); err != nil {
			return err
		}
		c1, el := benchutil.SelfCPU(), time.Since(w0)
		v1, verr1 := serversCPU(r.cfg.ServerPIDs)
		sec := el.Seconds()
		p.WindowS = sec
		p.CPUPercent = 100 * (c1 - c0).Seconds() / sec
		if verr == nil && verr1 == nil && len(r.cfg.ServerPIDs) > 0 {
			p.VoterCPUPercent = 100 * (v1 - v0).Seconds() / float64(len(r.cfg.ServerPIDs)) / sec
		}
		select {
		case <-s.Done():
			return errors.New("the many-lock session expired during the window")
		default:
		}
		p.HeldAtEnd = len(held)
		p.HolderRSSBytes, _ = benchutil.PIDRSS(0)
		for _, pid := range r.cfg.ServerPIDs {
			if rss, err := benchutil.PIDRSS(pid); err == nil {
				p.VoterRSSBytes = max(p.VoterRSSBytes, rss)
			}
		}
		r.res.Hold = append(r.res.Hold, p)
		r.logf("hold: %d mutexes: client CPU %.2f%%, members' CPU %.2f%% each", c, p.CPUPercent, p.VoterCPUPercent)
	}
	runtime.KeepAlive(held)
	return nil
}

// lockMany locks mutexes hold/N for N from len(held) up to n,
// benchutil.HoldInFlight at a time, and returns held with them appended.
func (r *runner) lockMany(ctx context.Context, s *concurrency.Session, held []*concurrency.Mutex, n int) ([]*concurrency.Mutex, error) {
	from := len(held)
	held = held[:n]
	err := benchutil.HoldMany(from, n, func(i int) error {
		m := concurrency.NewMutex(s, fmt.Sprintf("%shold/%06d/", r.pfx, i))
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := m.Lock(lctx); err != nil {
			return err
		}
		held[i] = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("locking mutexes %d to %d: %w", from, n, err)
	}
	return held, nil
}

// serversCPU is the etcd members' total CPU time so far.
func serversCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range pids {
		d, err := benchutil.PIDCPU(p)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

package tenurebench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/tenure-dev/tenure/bench/benchutil"
	"github.com/tenure-dev/tenure/node"
)

// holdPhase: a fresh node in this process (the client is stopped first,
// so this process runs nothing else) takes leases with HoldTTL up to each
// count of Leases in turn (ascending; each step adds to the leases already
// held), and at each count renewal traffic, CPU and heap are measured over
// Window.
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
	counts := r.cfg.Leases // ascending (Workload.Check)
	held := make([]*node.Lease, 0, counts[len(counts)-1])
	heap0 := benchutil.HeapAfterGC()
	for _, c := range counts {
		added := c - len(held)
		t0 := time.Now()
		if held, err = r.acquireMany(ctx, h, held, c); err != nil {
			return err
		}
		p := benchutil.HoldPoint{
			Leases: c, Added: added, TTLMs: ms(r.cfg.HoldTTL), AcquireS: time.Since(t0).Seconds(),
			BytesPerLease: float64(int64(benchutil.HeapAfterGC())-int64(heap0)) / float64(c),
		}
		if r.cfg.HeapProfile != "" && c == counts[len(counts)-1] {
			if err := writeHeapProfile(r.cfg.HeapProfile); err != nil {
				return err
			}
		}
		r.logf("hold: %d leases (TTL %v; %d added in %.2fs), %.0f heap bytes per lease; measuring %v of renewals",
			c, r.cfg.HoldTTL, added, p.AcquireS, p.BytesPerLease, r.cfg.Window)
		if err := r.measureHold(ctx, h, held, &p); err != nil {
			return err
		}
		r.res.Hold = append(r.res.Hold, p)
	}
	runtime.KeepAlive(held)
	return nil
}

// acquireMany takes leases bench-hold-N for N from len(held) up to n,
// benchutil.HoldInFlight at a time, and returns held with them appended.
func (r *runner) acquireMany(ctx context.Context, h *node.Node, held []*node.Lease, n int) ([]*node.Lease, error) {
	from := len(held)
	held = held[:n]
	err := benchutil.HoldMany(from, n, func(i int) error {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		l, err := h.Acquire(actx, fmt.Sprintf("bench-hold-%06d", i), node.WithTTL(r.cfg.HoldTTL))
		if err != nil {
			return err
		}
		held[i] = l
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("acquiring leases %d to %d: %w", from, n, err)
	}
	return held, nil
}

// measureHold fills p's traffic and CPU figures over one Window while h
// holds held, and fails if any of them was lost.
func (r *runner) measureHold(ctx context.Context, h *node.Node, held []*node.Lease, p *benchutil.HoldPoint) error {
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
	p.WindowS = sec
	p.PacketsPerSPerVoter = float64(s1.PacketsSent-s0.PacketsSent) / voters / sec
	p.BytesPerSPerVoter = float64(s1.BytesSent-s0.BytesSent) / voters / sec
	p.PacketsInPerS = float64(s1.PacketsReceived-s0.PacketsReceived) / sec
	p.CPUPercent = 100 * (c1 - c0).Seconds() / sec
	if verr == nil && verr1 == nil {
		p.VoterCPUPercent = 100 * (v1 - v0).Seconds() / voters / sec
	}
	p.Dropped = s1.DroppedFull - s0.DroppedFull
	p.HolderRSSBytes, _ = benchutil.PIDRSS(0)
	for _, a := range r.cl.agents {
		if rss, err := benchutil.PIDRSS(a.cmd.Process.Pid); err == nil {
			p.VoterRSSBytes = max(p.VoterRSSBytes, rss)
		}
	}
	lost := 0
	for _, l := range held {
		if l == nil || l.Err() != nil {
			lost++
		}
	}
	p.HeldAtEnd = len(held) - lost
	r.logf("hold: %d leases: %.1f datagrams/s to each voter (%.0f B/s), holder CPU %.2f%%, voter CPU %.2f%% each, RSS holder %d MiB, largest voter %d MiB, %d/%d still held",
		p.Leases, p.PacketsPerSPerVoter, p.BytesPerSPerVoter, p.CPUPercent, p.VoterCPUPercent, p.HolderRSSBytes>>20, p.VoterRSSBytes>>20, p.HeldAtEnd, len(held))
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

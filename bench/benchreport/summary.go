// Package benchreport turns the JSON results of bench/compare.sh's rounds
// (tenure bench --json and etcdbench run --json, both benchutil.Result)
// into the generated block of bench/RESULTS.md: the median of the rounds,
// the curves of both systems by concurrency, the held-lease figures, the
// load of every round, and the verdict of each target of issue 16,
// computed from those figures. It imports only the standard library and
// benchutil, so that the etcd module can use it; its tests run with the
// main module's.
package benchreport

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/tenure-dev/tenure/bench/benchutil"
)

// Run is one round's result file.
type Run struct {
	// Path is the file it was read from.
	Path string
	benchutil.Result
}

// ReadRuns reads every file matching glob, sorted by name.
func ReadRuns(glob string) ([]Run, error) {
	paths, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no file matches %q", glob)
	}
	slices.Sort(paths)
	var runs []Run
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		r := Run{Path: p}
		if err := json.Unmarshal(b, &r.Result); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// Point is one (mode, workers) point of a curve: the median over the
// rounds of each figure.
type Point struct {
	P50us, P99us, PerS float64
	// Rounds is how many rounds measured the point.
	Rounds int
}

// Hold is one count of held leases: the median over the rounds.
type Hold struct {
	TTLMs, CPUPercent, PacketsPerSPerVoter, BytesPerSPerVoter float64
	BytesPerLease, VoterCPUPercent, AcquireS                  float64
	HolderRSSBytes, VoterRSSBytes                             float64
	// Added is how many leases this count took beyond the previous one
	// (AcquireS is the time that took).
	Added, Rounds int
}

// Failover is the failover runs of every round of one system.
type Failover struct {
	// WorstMs is the worst run of all rounds (the target is a bound),
	// MedianMs the median of all runs.
	WorstMs, MedianMs, TTLMs float64
	// BoundMs is TTL·(1+2ε)+100ms, or 0 where ε is not known (etcd).
	BoundMs float64
	Runs    int
}

// Side is one system's figures, aggregated over its rounds.
type Side struct {
	// Curve is keyed by mode, then by workers.
	Curve    map[string]map[int]Point
	Hold     map[int]Hold
	Failover *Failover
	Rounds   int
}

// Summary is both systems' aggregated figures.
type Summary struct {
	Tenure, Etcd Side
}

// Summarize aggregates each system's rounds: the median of each figure
// over the rounds that measured it, and the worst failover of all runs.
func Summarize(tenure, etcd []Run) Summary {
	return Summary{Tenure: side(tenure), Etcd: side(etcd)}
}

func side(runs []Run) Side {
	s := Side{Curve: map[string]map[int]Point{}, Hold: map[int]Hold{}, Rounds: len(runs)}
	type key struct {
		mode string
		w    int
	}
	curve := map[key][][3]float64{}
	hold := map[int][]benchutil.HoldPoint{}
	var fo []float64
	var ttl, drift float64
	for _, r := range runs {
		for _, p := range r.Curve {
			k := key{p.Mode, p.Workers}
			curve[k] = append(curve[k], [3]float64{p.AcquireP50us, p.AcquireP99us, p.ThroughputPerS})
		}
		for _, h := range r.Hold {
			hold[h.Leases] = append(hold[h.Leases], h)
		}
		if f := r.Failover; f != nil && len(f.RunsMs) > 0 {
			fo = append(fo, f.RunsMs...)
			ttl, drift = f.TTLMs, f.MaxDrift
		}
	}
	for k, xs := range curve {
		if s.Curve[k.mode] == nil {
			s.Curve[k.mode] = map[int]Point{}
		}
		s.Curve[k.mode][k.w] = Point{
			P50us:  medianOf(xs, func(x [3]float64) float64 { return x[0] }),
			P99us:  medianOf(xs, func(x [3]float64) float64 { return x[1] }),
			PerS:   medianOf(xs, func(x [3]float64) float64 { return x[2] }),
			Rounds: len(xs),
		}
	}
	for n, hs := range hold {
		f := func(get func(benchutil.HoldPoint) float64) float64 { return medianOf(hs, get) }
		s.Hold[n] = Hold{
			TTLMs:               f(func(h benchutil.HoldPoint) float64 { return h.TTLMs }),
			CPUPercent:          f(func(h benchutil.HoldPoint) float64 { return h.CPUPercent }),
			PacketsPerSPerVoter: f(func(h benchutil.HoldPoint) float64 { return h.PacketsPerSPerVoter }),
			BytesPerSPerVoter:   f(func(h benchutil.HoldPoint) float64 { return h.BytesPerSPerVoter }),
			BytesPerLease:       f(func(h benchutil.HoldPoint) float64 { return h.BytesPerLease }),
			VoterCPUPercent:     f(func(h benchutil.HoldPoint) float64 { return h.VoterCPUPercent }),
			AcquireS:            f(func(h benchutil.HoldPoint) float64 { return h.AcquireS }),
			HolderRSSBytes:      f(func(h benchutil.HoldPoint) float64 { return float64(h.HolderRSSBytes) }),
			VoterRSSBytes:       f(func(h benchutil.HoldPoint) float64 { return float64(h.VoterRSSBytes) }),
			Added:               hs[0].Added,
			Rounds:              len(hs),
		}
	}
	if len(fo) > 0 {
		s.Failover = &Failover{WorstMs: slices.Max(fo), MedianMs: benchutil.Median(fo), TTLMs: ttl, Runs: len(fo)}
		if drift > 0 {
			s.Failover.BoundMs = ttl*(1+2*drift) + 100
		}
	}
	return s
}

func medianOf[T any](xs []T, get func(T) float64) float64 {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = get(x)
	}
	return benchutil.Median(v)
}

// Workers lists every concurrency either system measured, ascending.
func (s Summary) Workers() []int {
	var ws []int
	for _, sd := range []Side{s.Tenure, s.Etcd} {
		for _, pts := range sd.Curve {
			for w := range pts {
				ws = append(ws, w)
			}
		}
	}
	slices.Sort(ws)
	return slices.Compact(ws)
}

// EtcdBest is etcd's best case at w workers: for each figure, the better
// of its session modes (the lower latency, the higher throughput). ok is
// false if etcd has no point at w.
func (s Summary) EtcdBest(w int) (best Point, ok bool) {
	for _, mode := range []string{benchutil.ModeSharedSession, benchutil.ModeSessionPerWorker} {
		p, found := s.Etcd.Curve[mode][w]
		if !found {
			continue
		}
		if !ok {
			best, ok = p, true
			continue
		}
		best.P50us = min(best.P50us, p.P50us)
		best.P99us = min(best.P99us, p.P99us)
		best.PerS = max(best.PerS, p.PerS)
		best.Rounds = min(best.Rounds, p.Rounds)
	}
	return best, ok
}

// TenureAt is tenure's point at w workers.
func (s Summary) TenureAt(w int) (Point, bool) {
	p, ok := s.Tenure.Curve[benchutil.ModeNode][w]
	return p, ok
}

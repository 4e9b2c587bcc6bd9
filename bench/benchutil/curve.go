package benchutil

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Workload is what both sides run, so that the comparison is of the same
// work: DefaultWorkload is the measurement, QuickWorkload a smoke run.
type Workload struct {
	// Workers lists the concurrency levels of the curve; Duration is each
	// level's window.
	Workers  []int
	Duration time.Duration
	// FailoverRuns holders are killed, each holding with FailoverTTL.
	FailoverRuns int
	FailoverTTL  time.Duration
	// Leases lists the counts of held leases, ascending; HoldTTL is their
	// TTL and Window the measurement window at each count (a multiple of
	// the renewal period TTL/2, so that every lease renews equally often
	// in it whatever its phase).
	Leases  []int
	HoldTTL time.Duration
	Window  time.Duration
}

// DefaultWorkload is the measured run (issue 16).
func DefaultWorkload() Workload {
	return Workload{
		Workers: []int{1, 8, 32, 128}, Duration: 3 * time.Second,
		FailoverRuns: 3, FailoverTTL: 2 * time.Second,
		Leases: []int{10_000, 100_000}, HoldTTL: 10 * time.Second, Window: 10 * time.Second,
	}
}

// QuickWorkload is a smoke run: every figure is produced, in seconds.
func QuickWorkload() Workload {
	return Workload{
		Workers: []int{1, 8, 32, 128}, Duration: 300 * time.Millisecond,
		FailoverRuns: 1, FailoverTTL: 2 * time.Second,
		Leases: []int{500, 2000}, HoldTTL: 2 * time.Second, Window: 2 * time.Second,
	}
}

// Check refuses a workload that cannot make a run; its errors name the
// flag of both bench commands that sets the field.
func (w Workload) Check() error {
	switch {
	case len(w.Workers) == 0:
		return errors.New("--workers is empty")
	case w.Duration <= 0 || w.Window <= 0:
		return fmt.Errorf("--duration %v and --window %v must be positive", w.Duration, w.Window)
	case w.FailoverRuns < 1:
		return fmt.Errorf("--failover-runs %d: want at least 1", w.FailoverRuns)
	case w.FailoverTTL < 50*time.Millisecond || w.HoldTTL < 50*time.Millisecond:
		return fmt.Errorf("--failover-ttl %v and --hold-ttl %v must be at least 50ms", w.FailoverTTL, w.HoldTTL)
	case len(w.Leases) == 0:
		return errors.New("--leases is empty")
	}
	for _, n := range w.Workers {
		if n < 1 || n > 10_000 {
			return fmt.Errorf("--workers %d: want 1 to 10000", n)
		}
	}
	for i, n := range w.Leases {
		if n < 1 || n > 1_000_000 {
			return fmt.Errorf("--leases %d: want 1 to 1000000", n)
		}
		if i > 0 && n <= w.Leases[i-1] {
			return fmt.Errorf("--leases %v: want ascending counts", w.Leases)
		}
	}
	return nil
}

// CycleFunc does one acquire-then-release for worker w (on a lease name
// of its own) and returns how long each half took.
type CycleFunc func(ctx context.Context, w int) (acq, rel time.Duration, err error)

// Curve measures one concurrency level: workers goroutines each run one
// untimed cycle (warm-up), then, all together, loop cycles until d has
// passed. Cycles in flight at the end are waited for and counted over
// the actual elapsed time. It fails if ctx ends or if no timed cycle
// completed (naming the first error); other failed cycles, warm-up
// included, are counted in Errors.
func Curve(ctx context.Context, mode string, workers int, d time.Duration, cycle CycleFunc) (CurvePoint, error) {
	if workers < 1 {
		return CurvePoint{}, fmt.Errorf("benchutil: %d workers", workers)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		acq, rel []time.Duration
		errs     int64
		firstErr error
		ready    sync.WaitGroup
		start    = make(chan struct{})
		stop     time.Time
	)
	fail := func(err error) {
		mu.Lock()
		errs++
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	ready.Add(workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := cycle(ctx, w); err != nil {
				fail(err)
			}
			ready.Done()
			<-start
			var a, r []time.Duration
			for time.Now().Before(stop) && ctx.Err() == nil {
				x, y, err := cycle(ctx, w)
				if err != nil {
					fail(err)
					continue
				}
				a, r = append(a, x), append(r, y)
			}
			mu.Lock()
			acq, rel = append(acq, a...), append(rel, r...)
			mu.Unlock()
		}()
	}
	ready.Wait()
	t0 := time.Now()
	stop = t0.Add(d)
	close(start)
	wg.Wait()
	el := time.Since(t0)
	if err := ctx.Err(); err != nil {
		return CurvePoint{}, err
	}
	if len(acq) == 0 {
		return CurvePoint{}, fmt.Errorf("no cycle completed at %d workers: %v", workers, firstErr)
	}
	l := Summarize(acq, rel)
	return CurvePoint{
		Mode: mode, Workers: workers,
		AcquireP50us: l.P50us, AcquireP99us: l.P99us, AcquireMeanUs: l.MeanUs, AcquireMaxUs: l.MaxUs,
		ReleaseP50us:   l.RelP50,
		ThroughputPerS: float64(len(acq)) / el.Seconds(),
		Cycles:         int64(len(acq)), Errors: errs, WindowS: el.Seconds(),
	}, nil
}

// HoldInFlight is how many acquires both sides' hold phases keep in
// flight while taking their leases: enough for batching, few enough that
// taking 10⁵ leases never queues 10⁵ requests at once.
const HoldInFlight = 256

// ParseInts parses a comma-separated list of positive integers ("1,8,32";
// underscores allowed as digit separators): the --workers and --leases
// flags of both bench commands.
func ParseInts(s string) ([]int, error) {
	var out []int
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(strings.ReplaceAll(p, "_", ""))
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", p)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("want a comma-separated list of positive integers")
	}
	return out, nil
}

// FormatInts is the inverse of ParseInts.
func FormatInts(xs []int) string {
	s := make([]string, len(xs))
	for i, n := range xs {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

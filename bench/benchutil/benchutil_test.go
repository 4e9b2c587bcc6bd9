package benchutil

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentileMeanMedian(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for p, want := range map[float64]time.Duration{50: 5, 90: 9, 99: 10, 100: 10, 1: 1} {
		if got := Percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if Percentile(nil, 50) != 0 || Mean(nil) != 0 || Median(nil) != 0 {
		t.Fatal("empty input not 0")
	}
	if got := Mean(ds); got != 5 { // 55/10 rounded down
		t.Fatalf("mean %v", got)
	}
	xs := []float64{3, 1, 2, 10}
	if got := Median(xs); got != 2.5 || xs[0] != 3 {
		t.Fatalf("median %v (input %v must stay unsorted)", got, xs)
	}
}

func TestProcessCPU(t *testing.T) {
	d, err := PIDCPU(os.Getpid())
	if err != nil {
		t.Skipf("no /proc on this system: %v", err)
	}
	if d < 0 || SelfCPU() <= 0 {
		t.Fatalf("cpu %v self %v", d, SelfCPU())
	}
}

func TestSummarize(t *testing.T) {
	acq := []time.Duration{4000, 1000, 3000, 2000}
	rel := []time.Duration{20, 10}
	l := Summarize(acq, rel)
	if l.Count != 4 || l.P50us != 2 || l.P99us != 4 || l.MeanUs != 2.5 || l.MaxUs != 4 || l.RelP50 != 0.01 {
		t.Fatalf("%+v", l)
	}
}

func TestPIDRSS(t *testing.T) {
	self, err := PIDRSS(0)
	if err != nil {
		t.Skipf("no /proc on this system: %v", err)
	}
	byPID, err := PIDRSS(os.Getpid())
	if err != nil || self == 0 || byPID == 0 {
		t.Fatalf("rss self %d, by pid %d (%v)", self, byPID, err)
	}
	if _, err := PIDRSS(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}

// TestCurve drives Curve with fake cycles: worker w's acquire takes
// (w+1)ms by its own report, worker 2 always fails. It checks the point's
// structure, never the time the loop took.
func TestCurve(t *testing.T) {
	var calls atomic.Int64
	p, err := Curve(context.Background(), "m", 3, 20*time.Millisecond, func(ctx context.Context, w int) (time.Duration, time.Duration, error) {
		calls.Add(1)
		time.Sleep(time.Millisecond) // a cycle takes some time, like a real one
		if w == 2 {
			return 0, 0, errors.New("worker 2 fails")
		}
		return time.Duration(w+1) * time.Millisecond, time.Microsecond, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != "m" || p.Workers != 3 || p.Cycles < 1 || p.Errors < 2 || p.WindowS <= 0 {
		t.Fatalf("point %+v: want mode m, 3 workers, cycles, worker 2's errors (warm-up included)", p)
	}
	if p.AcquireP50us != 1000 && p.AcquireP50us != 2000 || p.AcquireMaxUs > 2000 || p.ReleaseP50us != 1 {
		t.Errorf("point %+v: want latencies from workers 0 and 1 only", p)
	}
	if got := float64(p.Cycles) / p.WindowS; got != p.ThroughputPerS {
		t.Errorf("throughput %v, want cycles/window %v", p.ThroughputPerS, got)
	}
	// Every call is a warm-up, a timed success or a counted error.
	if n := calls.Load(); n != 3+p.Cycles+p.Errors-1 {
		t.Errorf("%d calls, want 3 warm-ups + %d cycles + %d errors - 1 (the warm-up error)", n, p.Cycles, p.Errors)
	}

	_, err = Curve(context.Background(), "m", 2, time.Millisecond, func(context.Context, int) (time.Duration, time.Duration, error) {
		return 0, 0, errors.New("down")
	})
	if err == nil || !strings.Contains(err.Error(), "down") {
		t.Errorf("all cycles failing: %v, want the first error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Curve(ctx, "m", 1, time.Second, func(context.Context, int) (time.Duration, time.Duration, error) { return 1, 1, nil }); err == nil {
		t.Error("no error with ctx ended")
	}
	if _, err := Curve(context.Background(), "m", 0, time.Second, nil); err == nil {
		t.Error("no error for 0 workers")
	}
}

func TestWorkloadCheck(t *testing.T) {
	for _, w := range []Workload{DefaultWorkload(), QuickWorkload()} {
		if err := w.Check(); err != nil {
			t.Errorf("%+v: %v", w, err)
		}
	}
	for _, tc := range []struct {
		change func(*Workload)
		want   string
	}{
		{func(w *Workload) { w.Workers = nil }, "--workers"},
		{func(w *Workload) { w.Workers = []int{1, 0} }, "--workers 0"},
		{func(w *Workload) { w.Duration = 0 }, "--duration"},
		{func(w *Workload) { w.Window = -1 }, "--window"},
		{func(w *Workload) { w.FailoverRuns = 0 }, "--failover-runs"},
		{func(w *Workload) { w.HoldTTL = time.Millisecond }, "--hold-ttl"},
		{func(w *Workload) { w.Leases = []int{10, 10} }, "ascending"},
		{func(w *Workload) { w.Leases = nil }, "--leases"},
	} {
		w := DefaultWorkload()
		tc.change(&w)
		if err := w.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %q", w, err, tc.want)
		}
	}
}

func TestParseInts(t *testing.T) {
	got, err := ParseInts(" 1, 8,32,1_000 ,")
	if err != nil || FormatInts(got) != "1,8,32,1000" {
		t.Errorf("ParseInts: %v %v", got, err)
	}
	for _, bad := range []string{"", ",", "1,x", "0", "-3"} {
		if _, err := ParseInts(bad); err == nil {
			t.Errorf("ParseInts(%q): no error", bad)
		}
	}
}

package benchutil

import (
	"os"
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

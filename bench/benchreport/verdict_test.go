package benchreport

import (
	"strings"
	"testing"

	"github.com/tenure-dev/tenure/bench/benchutil"
)

// fig builds a Summary from compact figures: tenure's curve, etcd's two
// modes, tenure's failover and hold points.
type fig struct {
	tenure, shared, perWorker map[int]Point
	failover                  *Failover
	hold                      map[int]Hold
}

func (f fig) summary() Summary {
	return Summary{
		Tenure: Side{Curve: map[string]map[int]Point{benchutil.ModeNode: f.tenure}, Hold: f.hold, Failover: f.failover},
		Etcd: Side{Curve: map[string]map[int]Point{
			benchutil.ModeSharedSession: f.shared, benchutil.ModeSessionPerWorker: f.perWorker,
		}},
	}
}

// good is a run that meets every target, with figures at the bounds'
// edges where a target is "≤" or "≥" (equality meets it).
func good() fig {
	return fig{
		tenure: map[int]Point{
			1:   {P50us: 100, P99us: 300},
			32:  {PerS: 50_000},
			128: {PerS: 60_000},
		},
		shared: map[int]Point{
			1:   {P50us: 500, P99us: 900},
			32:  {PerS: 10_000},
			128: {PerS: 12_000},
		},
		perWorker: map[int]Point{
			1:   {P50us: 600, P99us: 950},
			32:  {PerS: 9_000},
			128: {PerS: 11_000},
		},
		failover: &Failover{WorstMs: 2104, TTLMs: 2000, BoundMs: 2104, Runs: 9},
		hold: map[int]Hold{
			HoldSmall: {CPUPercent: 2, PacketsPerSPerVoter: 70, TTLMs: 10_000},
			HoldLarge: {CPUPercent: 15, PacketsPerSPerVoter: 300, TTLMs: 10_000},
		},
	}
}

// The targets, by a prefix of their text, in Verdicts' order.
var targets = []string{
	"acquire p50", "acquire p99", "throughput, 32 workers", "throughput, 128 workers",
	"failover", "10⁴ held leases: holder CPU", "10⁵ held leases: holder CPU", "10⁵ held leases: datagrams",
}

func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*fig)
		// want lists the outcome of each target that differs from Met.
		want map[string]Outcome
	}{
		{"every target met at its edge", func(*fig) {}, nil},
		{"p50 over 1/5 of etcd's best", func(f *fig) { f.tenure[1] = Point{P50us: 101, P99us: 300} },
			map[string]Outcome{"acquire p50": Missed}},
		{"p50 within 1/5 of etcd but over 100 µs", func(f *fig) {
			f.tenure[1] = Point{P50us: 150, P99us: 300}
			f.shared[1] = Point{P50us: 1000, P99us: 900}
			f.perWorker[1] = Point{P50us: 1000, P99us: 900}
		}, map[string]Outcome{"acquire p50": Missed}},
		{"etcd's best is the per-worker mode's latency", func(f *fig) {
			f.perWorker[1] = Point{P50us: 400, P99us: 600}
		}, map[string]Outcome{"acquire p50": Missed, "acquire p99": Missed}},
		{"p99 over 1/3 of etcd's best", func(f *fig) { f.tenure[1] = Point{P50us: 100, P99us: 301} },
			map[string]Outcome{"acquire p99": Missed}},
		{"throughput short at 128 only", func(f *fig) { f.tenure[128] = Point{PerS: 59_999} },
			map[string]Outcome{"throughput, 128 workers": Missed}},
		{"etcd's best throughput is the higher mode's", func(f *fig) { f.perWorker[32] = Point{PerS: 10_001} },
			map[string]Outcome{"throughput, 32 workers": Missed}},
		{"no etcd point at 32 workers", func(f *fig) { delete(f.shared, 32); delete(f.perWorker, 32) },
			map[string]Outcome{"throughput, 32 workers": NotMeasured}},
		{"one etcd mode missing still judges", func(f *fig) { f.perWorker = nil }, nil},
		{"no tenure point at 1 worker", func(f *fig) { delete(f.tenure, 1) },
			map[string]Outcome{"acquire p50": NotMeasured, "acquire p99": NotMeasured}},
		{"failover past the bound", func(f *fig) { f.failover.WorstMs = 2105 },
			map[string]Outcome{"failover": Missed}},
		{"no failover", func(f *fig) { f.failover = nil }, map[string]Outcome{"failover": NotMeasured}},
		{"failover without ε has no bound", func(f *fig) { f.failover.BoundMs = 0 },
			map[string]Outcome{"failover": NotMeasured}},
		{"10⁴ CPU over 2%", func(f *fig) { f.hold[HoldSmall] = Hold{CPUPercent: 2.01} },
			map[string]Outcome{"10⁴ held leases: holder CPU": Missed}},
		{"10⁵ datagrams over 300/s", func(f *fig) { f.hold[HoldLarge] = Hold{CPUPercent: 1, PacketsPerSPerVoter: 300.5} },
			map[string]Outcome{"10⁵ held leases: datagrams": Missed}},
		{"10⁵ not measured", func(f *fig) { delete(f.hold, HoldLarge) },
			map[string]Outcome{"10⁵ held leases: holder CPU": NotMeasured, "10⁵ held leases: datagrams": NotMeasured}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := good()
			tc.change(&f)
			vs := Verdicts(f.summary())
			if len(vs) != len(targets) {
				t.Fatalf("%d verdicts, want %d", len(vs), len(targets))
			}
			for i, v := range vs {
				if !strings.HasPrefix(v.Target, targets[i]) {
					t.Fatalf("verdict %d is %q, want %q first", i, v.Target, targets[i])
				}
				want, ok := tc.want[targets[i]]
				if !ok {
					want = Met
				}
				if v.Outcome != want {
					t.Errorf("%s: %v (measured %q, bound %q), want %v", v.Target, v.Outcome, v.Measured, v.Bound, want)
				}
				if (v.Outcome == NotMeasured) != (v.Bound == "") {
					t.Errorf("%s: outcome %v with bound %q", v.Target, v.Outcome, v.Bound)
				}
			}
		})
	}
}

// TestVerdictBounds checks the bounds the verdicts state: the stricter of
// etcd's best over 5 and 100 µs, etcd's best p99 over 3, five times the
// better throughput.
func TestVerdictBounds(t *testing.T) {
	f := good()
	f.shared[1] = Point{P50us: 400, P99us: 1200}
	f.perWorker[1] = Point{P50us: 1000, P99us: 900}
	vs := Verdicts(f.summary())
	for i, want := range []string{"≤ 80.0 µs", "≤ 300 µs", "≥ 50000/s", "≥ 60000/s", "≤ 2104 ms", "≤ 2% of a core", "≤ 15% of a core", "≤ 300/s"} {
		if vs[i].Bound != want {
			t.Errorf("%s: bound %q, want %q", vs[i].Target, vs[i].Bound, want)
		}
	}
	f.shared[1] = Point{P50us: 5000, P99us: 1200}
	f.perWorker[1] = Point{P50us: 6000, P99us: 900}
	if b := Verdicts(f.summary())[0].Bound; b != "≤ 100 µs" {
		t.Errorf("p50 bound with etcd at 5 ms: %q, want the 100 µs cap", b)
	}
}

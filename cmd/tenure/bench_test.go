package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/bench/benchutil"
	"github.com/tenure-dev/tenure/bench/tenurebench"
)

// TestBenchQuickJSON is the CI smoke test of tenure bench: it builds the
// binary (the bench starts its agents from it), runs `tenure bench --quick
// --json` and checks the structure of the result: a curve point at every
// concurrency, every failover run, a hold point at every count, and
// figures that are there and consistent. It asserts nothing about speed:
// figures belong in RESULTS.md, not in tests.
func TestBenchQuickJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a real three-agent cluster for seconds")
	}
	bin := filepath.Join(t.TempDir(), "tenure")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "bench", "--quick", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tenure bench --quick --json: %v\nstderr:\n%s", err, stderr.String())
	}
	defer func() {
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	}()
	var got benchutil.Result
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("output is not one benchutil.Result: %v", err)
	}
	q := tenurebench.QuickConfig()
	if got.System != "tenure" || !got.Quick || got.Machine.NumCPU < 1 || got.Started.IsZero() {
		t.Errorf("system %q quick %v nproc %d started %v", got.System, got.Quick, got.Machine.NumCPU, got.Started)
	}
	var ws []int
	for _, p := range got.Curve {
		ws = append(ws, p.Workers)
		if p.Mode != benchutil.ModeNode || p.Cycles < 1 || p.ThroughputPerS <= 0 || p.AcquireP50us <= 0 ||
			p.AcquireP99us < p.AcquireP50us || p.AcquireMaxUs < p.AcquireP99us {
			t.Errorf("curve point %+v: want mode node, cycles, and 0 < p50 ≤ p99 ≤ max", p)
		}
	}
	if !slices.Equal(ws, q.Workers) {
		t.Errorf("curve at workers %v, want %v", ws, q.Workers)
	}
	if f := got.Failover; f == nil || len(f.RunsMs) != q.FailoverRuns || f.WorstMs != slices.Max(f.RunsMs) || f.MaxDrift <= 0 {
		t.Errorf("failover %+v: want %d runs, the worst of them, and ε", f, q.FailoverRuns)
	}
	var ns []int
	for _, h := range got.Hold {
		ns = append(ns, h.Leases)
		if h.HeldAtEnd != h.Leases || h.CPUPercent <= 0 || h.PacketsPerSPerVoter <= 0 || h.BytesPerLease <= 0 || h.WindowS <= 0 {
			t.Errorf("hold point %+v: want every lease held and positive figures", h)
		}
	}
	if !slices.Equal(ns, q.Leases) {
		t.Errorf("hold at %v leases, want %v", ns, q.Leases)
	}
	if got.SimEventsPerS <= 0 {
		t.Errorf("sim_events_per_s %v", got.SimEventsPerS)
	}
}

// TestBenchFlags checks that bad bench flags exit 2 naming the flag, and
// that --quick yields to flags given explicitly, on the command line or
// in the environment.
func TestBenchFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--workers", "0"}, "workers"},
		{[]string{"bench", "--workers", "1,x"}, "workers"},
		{[]string{"bench", "--leases", "100,10"}, "ascending"},
		{[]string{"bench", "--phases", "curve,nope"}, "nope"},
		{[]string{"bench", "--failover-ttl", "1ms"}, "--failover-ttl"},
		{[]string{"bench", "--window", "0s"}, "--window"},
		{[]string{"bench", "extra"}, "unexpected argument"},
		{[]string{"bench", "holder", "--name", "x"}, "required"},
	} {
		var out, errb bytes.Buffer
		if code := runMain(tc.args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: stderr %q does not name %q", tc.args, errb.String(), tc.want)
		}
	}
	t.Setenv("TENURE_WINDOW", "7s")
	var o benchOpts
	f := newBenchFlags(&o)
	var out, errb bytes.Buffer
	if _, ok := f.parse([]string{"--quick", "--leases", "7,70", "--workers", "2"}, &out, &errb); !ok {
		t.Fatalf("parse: %s", errb.String())
	}
	cfg := o.config(f)
	q := tenurebench.QuickConfig()
	if !cfg.Quick || !slices.Equal(cfg.Leases, []int{7, 70}) || !slices.Equal(cfg.Workers, []int{2}) ||
		cfg.Window != 7*time.Second || cfg.Duration != q.Duration {
		t.Errorf("--quick --leases 7,70 --workers 2, TENURE_WINDOW=7s: %+v, want those and quick's duration %v", cfg.Workload, q.Duration)
	}
	d := tenurebench.DefaultConfig()
	if d.Quick || !slices.Equal(d.Workers, []int{1, 8, 32, 128}) || !slices.Equal(d.Leases, []int{10_000, 100_000}) {
		t.Errorf("default config %+v: want the issue's workers and lease counts", d.Workload)
	}
}

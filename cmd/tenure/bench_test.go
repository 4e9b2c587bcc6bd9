package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/bench/tenurebench"
)

// TestBenchQuickJSON is the CI smoke test of tenure bench: it builds the
// binary (the bench starts its agents from it), runs `tenure bench --quick
// --json` and checks that every figure is present and sane. It asserts
// nothing about speed: figures belong in RESULTS.md, not in tests.
func TestBenchQuickJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a real three-agent cluster for seconds")
	}
	bin := filepath.Join(t.TempDir(), "tenure")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "bench", "--quick", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tenure bench --quick --json: %v\nstderr:\n%s", err, stderr.String())
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout.String())
	}
	for _, k := range []string{
		"acquire_p50_us", "acquire_p99_us", "throughput_per_s", "failover_ms",
		"renew_packets_per_s", "cpu_percent", "bytes_per_lease",
	} {
		v, ok := got[k].(float64)
		if !ok {
			t.Errorf("key %q missing or not a number: %v", k, got[k])
			continue
		}
		if v <= 0 {
			t.Errorf("%s = %v, want > 0", k, v)
		}
	}
	if p50, p99 := got["acquire_p50_us"].(float64), got["acquire_p99_us"].(float64); p99 < p50 {
		t.Errorf("acquire_p99_us %v below acquire_p50_us %v", p99, p50)
	}
	if held, want := got["held_at_end"], got["held_leases"]; held != want {
		t.Errorf("held_at_end %v, want held_leases %v", held, want)
	}
	if got["system"] != "tenure" || got["quick"] != true {
		t.Errorf("system %v quick %v, want tenure true", got["system"], got["quick"])
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

// TestBenchFlags checks that bad bench flags exit 2 naming the flag, and
// that --quick yields to flags given explicitly.
func TestBenchFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--seq", "0"}, "--seq"},
		{[]string{"bench", "--phases", "acquire,nope"}, "nope"},
		{[]string{"bench", "--failover-ttl", "1ms"}, "--failover-ttl"},
		{[]string{"bench", "extra"}, "unexpected argument"},
		{[]string{"bench", "holder", "--name", "x"}, "required"},
	} {
		var out, errb bytes.Buffer
		if code := runMain(tc.args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: stderr %q does not name %q", tc.args, errb.String(), tc.want)
		}
	}
	var o benchOpts
	f := newBenchFlags(&o)
	if err := f.Parse([]string{"--quick", "--leases", "7"}); err != nil {
		t.Fatal(err)
	}
	cfg := o.config(f)
	if q := tenurebench.QuickConfig(); !cfg.Quick || cfg.Leases != 7 || cfg.Seq != q.Seq {
		t.Errorf("--quick --leases 7: Quick %v Leases %d Seq %d, want true 7 %d", cfg.Quick, cfg.Leases, cfg.Seq, q.Seq)
	}
}

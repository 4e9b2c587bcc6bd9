package chaos

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The scheduled steps come at their cadence whatever the draws, and only
// when enabled; the draws never pick a scheduled kind while others exist.
func TestNemesisSchedule(t *testing.T) {
	n := &nemesis{c: &Cluster{cfg: Config{Faults: AllFaults}}}
	n.rng = rand.New(rand.NewSource(1))
	holder, stale := 0, 0
	for i := range 30 {
		k := n.pick(i)
		switch {
		case i%3 == 0 && k != FaultRestartHolder:
			t.Fatalf("step %d: %s, want %s", i, k, FaultRestartHolder)
		case i%6 == 4 && k != FaultStaleDir:
			t.Fatalf("step %d: %s, want %s", i, k, FaultStaleDir)
		case i%6 == 2 && k != FaultReconfig:
			t.Fatalf("step %d: %s, want %s", i, k, FaultReconfig)
		case i%3 != 0 && i%6 != 4 && i%6 != 2 && (k == FaultRestartHolder || k == FaultStaleDir || k == FaultReconfig):
			t.Fatalf("step %d: drew the scheduled kind %s", i, k)
		}
		switch k {
		case FaultRestartHolder:
			holder++
		case FaultStaleDir:
			stale++
		}
	}
	if holder != 10 || stale != 5 {
		t.Fatalf("in 30 steps: %d holder restarts, %d stale restarts; want 10 and 5", holder, stale)
	}
	n.c.cfg.Faults = []string{FaultPartition}
	for i := range 10 {
		if k := n.pick(i); k != FaultPartition {
			t.Fatalf("step %d with only partitions enabled: %s", i, k)
		}
	}
	n.c.cfg.Faults = []string{FaultStaleDir}
	if k := n.pick(1); k != FaultStaleDir {
		t.Fatalf("only stale restarts enabled: step 1 drew %s", k)
	}
}

// The voter-change figure counts each kind and the changes' range, and
// says when a run did not complete.
func TestReconfigFigure(t *testing.T) {
	if got := reconfigFigure(nil); got != "none" {
		t.Fatalf("no runs: %q", got)
	}
	runs := []ReconfigRun{
		{Kind: "cycle", Done: true, Changes: []ReconfigChange{{Took: 3 * time.Second}, {Took: 4 * time.Second}}},
		{Kind: "replace", Changes: []ReconfigChange{{Took: 5 * time.Second}, {Took: 9 * time.Second, Err: "not done"}}},
	}
	want := "1/1 3->5->3 cycles and 0/1 replacements done; 3 changes, 3s to 5s each"
	if got := reconfigFigure(runs); got != want {
		t.Fatalf("figure %q, want %q", got, want)
	}
}

func TestQuarantineEvidence(t *testing.T) {
	metrics := "# HELP tenure_quarantined 1 while ...\n# TYPE tenure_quarantined gauge\ntenure_quarantined 1\ntenure_quarantine_remaining_seconds 3.9\n"
	if v := metricValue(metrics, "tenure_quarantined"); v != "1" {
		t.Fatalf("tenure_quarantined read as %q", v)
	}
	if v := metricValue(metrics, "tenure_missing"); v != "" {
		t.Fatalf("a missing metric read as %q", v)
	}
	for line, want := range map[string]bool{
		`time=2026-11-29T00:00:00Z level=INFO msg=starting start=crashed era=3 voter=true quarantine=4.1s`: true,
		`time=2026-11-29T00:00:00Z level=INFO msg=starting start=stale era=3 voter=true quarantine=30s`:    true,
		`time=2026-11-29T00:00:00Z level=INFO msg=starting start=clean era=3 voter=true quarantine=0s`:     false,
		`time=2026-11-29T00:00:00Z level=INFO msg=starting start=crashed era=3 voter=false quarantine=0s`:  false,
		``: false,
	} {
		if got := logSaysQuarantine(line); got != want {
			t.Errorf("logSaysQuarantine(%q) = %v, want %v", line, got, want)
		}
	}
	log := filepath.Join(t.TempDir(), "log")
	old := "level=INFO msg=starting start=clean quarantine=0s\n"
	if err := os.WriteFile(log, []byte(old+"x\nlevel=INFO msg=starting start=crashed quarantine=4s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l := startingLine(log, int64(len(old))); !logSaysQuarantine(l) {
		t.Fatalf("the start after the offset: %q", l)
	}
}

func TestCopyTree(t *testing.T) {
	src := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"era": "7\n", "sub/state": "clean"}
	for p, v := range files {
		if err := os.WriteFile(filepath.Join(src, p), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	for p, v := range files {
		b, err := os.ReadFile(filepath.Join(dst, p))
		if err != nil || string(b) != v {
			t.Fatalf("%s: %q %v, want %q", p, b, err, v)
		}
	}
	if err := copyTree(filepath.Join(src, "absent"), filepath.Join(dst, "x")); err == nil {
		t.Fatal("copying a missing dir succeeded")
	}
}

func TestHolderRestartFailover(t *testing.T) {
	h := HolderRestart{HolderEnd: int64(2 * time.Second), Granted: int64(1500 * time.Millisecond)}
	if d, ok := h.Failover(); !ok || d != -500*time.Millisecond {
		t.Fatalf("failover %v %v, want -500ms (held at once)", d, ok)
	}
	h.Granted = 0
	if _, ok := h.Failover(); ok {
		t.Fatal("a waiter never granted has a failover")
	}
}

package benchreport

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/bench/benchutil"
)

var testWorkers = []int{1, 8, 32, 128}

// fakeRun is round k (1-based) of a system, with figures that differ by
// round so that the median is distinguishable from the mean, first and
// last: round k has k×base for every figure.
func fakeRun(system string, k int, t0 time.Time) Run {
	r := Run{Path: fmt.Sprintf("/x/%s-%d.json", system, k), Result: benchutil.Result{
		System:  system,
		Machine: benchutil.Machine{NumCPU: 2, CPUModel: "Test CPU", OS: "linux/amd64", GoVersion: "go1.26", LoadBefore: fmt.Sprintf("%d.00 1.00 1.00", k), LoadAfter: "0.50 0.50 0.50"},
		Started: t0.Add(time.Duration(2*k) * time.Minute), ElapsedS: 60,
	}}
	if system == "etcd" {
		r.Started = r.Started.Add(time.Minute) // after the same round's tenure
	}
	scale := []float64{1, 1, 10}[k-1] // round 3 is an outlier: the median ignores it
	modes := []string{benchutil.ModeNode}
	base := 100.0
	if system == "etcd" {
		modes = []string{benchutil.ModeSharedSession, benchutil.ModeSessionPerWorker}
		base = 1000
	}
	for mi, m := range modes {
		for _, w := range testWorkers {
			b := base * float64(w) * float64(1+mi) * scale
			r.Curve = append(r.Curve, benchutil.CurvePoint{Mode: m, Workers: w, AcquireP50us: b + float64(k), AcquireP99us: 3*b + float64(k), ThroughputPerS: 1e6 / b})
		}
	}
	r.Failover = &benchutil.Failover{TTLMs: 2000, RunsMs: []float64{1500 + float64(k), 1800 - float64(k)}}
	if system == "tenure" {
		r.Failover.MaxDrift = 1e-3
		r.Hold = []benchutil.HoldPoint{
			{Leases: 10_000, TTLMs: 10_000, CPUPercent: float64(k), PacketsPerSPerVoter: 70},
			{Leases: 100_000, TTLMs: 10_000, CPUPercent: 10 * float64(k), PacketsPerSPerVoter: 700},
		}
	} else {
		r.Hold = []benchutil.HoldPoint{{Leases: 10_000, TTLMs: 10_000, CPUPercent: 0.1}}
	}
	return r
}

func fakeRounds(n int) (tenure, etcd []Run) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	for k := 1; k <= n; k++ {
		tenure = append(tenure, fakeRun("tenure", k, t0))
		etcd = append(etcd, fakeRun("etcd", k, t0))
	}
	return tenure, etcd
}

func TestSummarize(t *testing.T) {
	tr, er := fakeRounds(3)
	s := Summarize(tr, er)
	if p, ok := s.TenureAt(32); !ok || p.P50us != 3202 || p.P99us != 9602 || p.Rounds != 3 {
		t.Errorf("tenure at 32: %+v %v, want the median round's 3202 / 9602 over 3 rounds", p, ok)
	}
	best, ok := s.EtcdBest(8)
	if !ok || best.P50us != 8002 || best.PerS != 1e6/8000 {
		t.Errorf("etcd best at 8: %+v %v, want the shared mode's p50 8002 and its throughput", best, ok)
	}
	if pw := s.Etcd.Curve[benchutil.ModeSessionPerWorker][8]; pw.P50us != 16002 {
		t.Errorf("etcd per-worker at 8: %+v, want p50 16002", pw)
	}
	f := s.Tenure.Failover
	if f == nil || f.WorstMs != 1799 || f.Runs != 6 || f.MedianMs != 1650 || math.Abs(f.BoundMs-2104) > 1e-9 {
		t.Errorf("tenure failover %+v: want worst 1799 of 6 runs, median 1650, bound 2104", f)
	}
	if e := s.Etcd.Failover; e == nil || e.BoundMs != 0 {
		t.Errorf("etcd failover %+v: want no bound (no ε)", e)
	}
	if h := s.Tenure.Hold[100_000]; h.CPUPercent != 20 || h.Rounds != 3 {
		t.Errorf("tenure hold 10⁵: %+v, want median CPU 20 over 3 rounds", h)
	}
	if ws := s.Workers(); fmt.Sprint(ws) != fmt.Sprint(testWorkers) {
		t.Errorf("workers %v", ws)
	}
}

// TestRenderStructure checks that the block has every section, a row per
// concurrency in each curve table, a row per target with the verdict
// Verdicts computed, a row per round in the order the rounds ran with
// their load, and the commit.
func TestRenderStructure(t *testing.T) {
	tr, er := fakeRounds(3)
	text := Render(tr, er, Meta{Commit: "abc1234 (with local changes)", Now: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Commands: []string{"bench/compare.sh --rounds 3"}, Notes: []string{"a note"}})
	if !strings.HasPrefix(text, BeginMark) || !strings.HasSuffix(text, EndMark+"\n") {
		t.Fatalf("block not between the markers:\n%s", text)
	}
	for _, want := range []string{
		"## Run of 2026-01-02 03:04 UTC, commit abc1234 (with local changes)",
		"Machine: 2 CPUs (nproc), Test CPU", "Rounds: 3 of tenure and 3 of etcd",
		"### Targets", "### Acquire latency p50", "### Acquire latency p99", "### Throughput", "### Held leases", "### Failover", "### Every round",
		"    bench/compare.sh --rounds 3", "- a note",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("block lacks %q", want)
		}
	}
	if strings.Contains(text, "Quick smoke run") {
		t.Error("quick banner on a measured run")
	}
	lines := strings.Split(text, "\n")
	section := func(title string) []string {
		var rows []string
		in := false
		for _, l := range lines {
			if strings.HasPrefix(l, "### ") {
				in = strings.HasPrefix(l, "### "+title)
				continue
			}
			if in && strings.HasPrefix(l, "| ") {
				rows = append(rows, l)
			}
		}
		if len(rows) > 0 {
			rows = rows[1:] // the header
		}
		return rows
	}
	for _, title := range []string{"Acquire latency p50", "Acquire latency p99", "Throughput"} {
		rows := section(title)
		if len(rows) != len(testWorkers) {
			t.Fatalf("%s: %d rows, want %d:\n%s", title, len(rows), len(testWorkers), strings.Join(rows, "\n"))
		}
		for i, w := range testWorkers {
			if !strings.HasPrefix(rows[i], fmt.Sprintf("| %d | ", w)) {
				t.Errorf("%s row %d: %q, want workers %d", title, i, rows[i], w)
			}
		}
	}
	// p50 at 1 worker: tenure 102 (median), etcd shared 1002, per worker 2002.
	if rows := section("Acquire latency p50"); rows[0] != "| 1 | 102 | 1002 | 2002 | 1002 | 0.10 |" {
		t.Errorf("p50 row at 1 worker: %q", rows[0])
	}
	verdicts := Verdicts(Summarize(tr, er))
	rows := section("Targets")
	if len(rows) != len(verdicts) {
		t.Fatalf("%d target rows, want %d", len(rows), len(verdicts))
	}
	for i, v := range verdicts {
		if !strings.HasPrefix(rows[i], "| "+v.Target+" |") || !strings.HasSuffix(rows[i], "| "+v.Outcome.String()+" |") {
			t.Errorf("target row %q, want %q … %v", rows[i], v.Target, v.Outcome)
		}
	}
	// The fake figures: p50 102 µs vs etcd 1002 (bound 100 µs) misses;
	// 10⁵ leases at 20% CPU and 700 datagrams/s miss; failover meets.
	for _, want := range []string{"acquire p50, 1 worker: ≤ 1/5 of etcd's best and ≤ 100 µs | 102 µs vs etcd 1002 µs (0.10) | ≤ 100 µs | **missed** |",
		"failover: worst run ≤ TTL·(1+2ε)+100 ms | worst of 6 kills at TTL 2000 ms: 1799 ms (median 1650); etcd worst 1799 ms | ≤ 2104 ms | met |"} {
		if !strings.Contains(text, want) {
			t.Errorf("block lacks %q", want)
		}
	}
	rounds := section("Every round")
	if len(rounds) != 6 {
		t.Fatalf("%d round rows, want 6", len(rounds))
	}
	for i, want := range []string{"tenure-1.json | 1.00 1.00 1.00", "etcd-1.json | 1.00", "tenure-2.json | 2.00", "etcd-2.json", "tenure-3.json | 3.00", "etcd-3.json"} {
		if !strings.HasPrefix(rounds[i], "| "+want) {
			t.Errorf("round row %d: %q, want it to start with %q", i, rounds[i], want)
		}
	}
	if hold := section("Held leases"); len(hold) != 3 {
		t.Errorf("held-lease rows %q, want tenure 10⁴, 10⁵ and etcd 10⁴", hold)
	}

	tr[0].Quick = true
	if !strings.Contains(Render(tr, er, Meta{Commit: "x", Now: time.Now()}), "Quick smoke run") {
		t.Error("no quick banner when a round was quick")
	}
}

func TestReadRunsAndUpdateFile(t *testing.T) {
	dir := t.TempDir()
	tr, _ := fakeRounds(2)
	for i, r := range tr {
		b, err := json.Marshal(r.Result)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("tenure-%d.json", i+1)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadRuns(filepath.Join(dir, "tenure-*.json"))
	if err != nil || len(got) != 2 || got[1].Curve[3].AcquireP50us != tr[1].Curve[3].AcquireP50us || got[0].Path != filepath.Join(dir, "tenure-1.json") {
		t.Fatalf("ReadRuns: %v, %d runs", err, len(got))
	}
	if _, err := ReadRuns(filepath.Join(dir, "etcd-*.json")); err == nil {
		t.Error("no error for a glob that matches nothing")
	}
	if err := os.WriteFile(filepath.Join(dir, "bad-1.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRuns(filepath.Join(dir, "bad-*.json")); err == nil || !strings.Contains(err.Error(), "bad-1.json") {
		t.Errorf("bad JSON: %v, want an error naming the file", err)
	}

	out := filepath.Join(dir, "RESULTS.md")
	if err := os.WriteFile(out, []byte("# Results\n\nFindings above.\n\n"+BeginMark+"\nold\n"+EndMark+"\n\nFindings below.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	block := BeginMark + "\nnew\n" + EndMark + "\n"
	for range 2 { // twice: the second replaces the first
		if err := UpdateFile(out, block); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(out)
	if want := "# Results\n\nFindings above.\n\n" + BeginMark + "\nnew\n" + EndMark + "\n\nFindings below.\n"; string(b) != want {
		t.Errorf("updated file:\n%s\nwant:\n%s", b, want)
	}
	fresh := filepath.Join(dir, "new.md")
	if err := UpdateFile(fresh, block); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(fresh); !strings.Contains(string(b), "\nnew\n") {
		t.Errorf("new file: %q", b)
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{10_000: "10⁴", 100_000: "10⁵", 100: "10²", 2000: "2000", 500: "500"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

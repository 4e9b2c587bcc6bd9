package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Markers around the generated part of RESULTS.md: text outside them
// (findings, profiles) is kept when the table is regenerated.
const (
	beginMark = "<!-- BEGIN compare.sh: generated, do not edit by hand -->"
	endMark   = "<!-- END compare.sh -->"
)

// run is one JSON result of either side, read generically.
type runFile struct {
	path string
	m    map[string]any
}

func (r runFile) num(key string) (float64, bool) {
	v, ok := r.m[key].(float64)
	return v, ok
}

func (r runFile) str(path ...string) string {
	var cur any = r.m
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

// row is one figure of the table and its target.
type row struct {
	key, label string
	// agg combines the rounds: median, or max for worst-case figures.
	agg func([]float64) float64
	// target describes the goal; check returns whether tenure meets it
	// (t, e: the aggregated figures; e is NaN where etcd has none).
	target string
	check  func(t, e float64, tenure []runFile) bool
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

var rows = []row{
	{"acquire_p50_us", "acquire p50 (µs)", median, "tenure ≤ etcd/4",
		func(t, e float64, _ []runFile) bool { return t <= e/4 }},
	{"acquire_p99_us", "acquire p99 (µs)", median, "tenure ≤ etcd/2",
		func(t, e float64, _ []runFile) bool { return t <= e/2 }},
	{"throughput_per_s", "throughput, independent leases (/s)", median, "tenure ≥ 5 × etcd",
		func(t, e float64, _ []runFile) bool { return t >= 5*e }},
	{"failover_ms", "failover at TTL 2s, worst run (ms)", maxOf, "tenure ≤ TTL·(1+2ε)+100ms",
		func(t, e float64, tr []runFile) bool {
			b := math.Inf(1)
			for _, r := range tr {
				if v, ok := r.num("failover_bound_ms"); ok {
					b = min(b, v)
				}
			}
			return t <= b
		}},
	{"failover_median_ms", "failover at TTL 2s, median run (ms)", median, "", nil},
	{"renew_packets_per_s", "renewal datagrams/s to each voter (10k leases)", median, "tenure < 100",
		func(t, e float64, _ []runFile) bool { return t < 100 }},
	{"cpu_percent", "holder CPU, 10k leases (% of a core)", median, "tenure < 5",
		func(t, e float64, _ []runFile) bool { return t < 5 }},
	{"bytes_per_lease", "holder heap per held lease (B)", median, "tenure < 2048",
		func(t, e float64, _ []runFile) bool { return t < 2048 }},
	{"voter_cpu_percent", "each voter's / member's CPU, 10k leases (%)", median, "", nil},
	{"hold_acquire_s", "time to take the 10k leases (s)", median, "", nil},
	{"sim_events_per_s", "simulator events/s (tenure only)", median, "", nil},
}

func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("etcdbench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tglob := fs.String("tenure", "", "glob of tenure bench --json files")
	eglob := fs.String("etcd", "", "glob of etcdbench run --json files")
	out := fs.String("out", "", "RESULTS.md to update between its markers (created if missing)")
	var cmds, notes stringsFlag
	fs.Var(&cmds, "cmd", "a command that produced the figures (repeatable)")
	fs.Var(&notes, "note", "a line for the notes under the table (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tr, err1 := readRuns(*tglob)
	er, err2 := readRuns(*eglob)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintln(stderr, "etcdbench report:", err)
		return 1
	}
	text := render(tr, er, cmds, notes, time.Now().UTC())
	fmt.Fprint(stdout, text)
	if *out != "" {
		if err := updateFile(*out, text); err != nil {
			fmt.Fprintln(stderr, "etcdbench report:", err)
			return 1
		}
	}
	return 0
}

type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, "; ") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func readRuns(glob string) ([]runFile, error) {
	paths, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no file matches %q", glob)
	}
	slices.Sort(paths)
	var runs []runFile
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		runs = append(runs, runFile{path: p, m: m})
	}
	return runs, nil
}

// aggregate combines one key over runs; NaN if no run has it.
func aggregate(runs []runFile, key string, agg func([]float64) float64) float64 {
	var xs []float64
	for _, r := range runs {
		if v, ok := r.num(key); ok && v != 0 {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	return agg(xs)
}

func fmtNum(x float64) string {
	switch {
	case math.IsNaN(x):
		return "n/a"
	case math.Abs(x) >= 100:
		return fmt.Sprintf("%.0f", x)
	case math.Abs(x) >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// render is the generated block: header, table, rounds, commands.
func render(tr, er []runFile, cmds, notes []string, now time.Time) string {
	var b strings.Builder
	first := tr[0]
	quick := false
	for _, r := range append(slices.Clone(tr), er...) {
		quick = quick || r.m["quick"] == true
	}
	fmt.Fprintf(&b, "%s\n\n## Run of %s\n\n", beginMark, now.Format("2006-01-02 15:04 UTC"))
	if quick {
		b.WriteString("**Quick smoke run: short windows and few iterations; these figures are not the measurement.**\n\n")
	}
	nproc, _ := first.m["machine"].(map[string]any)["nproc"].(float64)
	fmt.Fprintf(&b, "Machine: %d CPUs (nproc), %s; %s, %s.\n", int(nproc), first.str("machine", "cpu_model"),
		first.str("machine", "os"), first.str("machine", "go"))
	fmt.Fprintf(&b, "Rounds: %d of tenure and %d of etcd, alternating (tenure, etcd, tenure, etcd, ...). ", len(tr), len(er))
	b.WriteString("Each figure is the median over the rounds, except the worst failover, which is the worst run of all rounds. ")
	b.WriteString("The ratio is tenure/etcd.\n\n")
	b.WriteString("| figure | etcd | tenure | tenure/etcd | target | met |\n|---|---:|---:|---:|---|---|\n")
	for _, rw := range rows {
		t := aggregate(tr, rw.key, rw.agg)
		e := aggregate(er, rw.key, rw.agg)
		ratio := math.NaN()
		if !math.IsNaN(t) && !math.IsNaN(e) && e != 0 {
			ratio = t / e
		}
		met := ""
		switch {
		case rw.check == nil || math.IsNaN(t):
		case math.IsNaN(e) && strings.Contains(rw.target, "etcd"):
			met = "n/a"
		case rw.check(t, e, tr):
			met = "yes"
		default:
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s `%s` | %s | %s | %s | %s | %s |\n", rw.label, rw.key, fmtNum(e), fmtNum(t), fmtNum(ratio), rw.target, met)
	}
	b.WriteString("\nEvery round:\n\n| file | p50 µs | p99 µs | cycles/s | failover runs ms | pkts/s/voter | holder CPU % | B/lease | voter CPU % | load before → after |\n|---|---:|---:|---:|---|---:|---:|---:|---:|---|\n")
	rounds := append(slices.Clone(tr), er...)
	slices.SortFunc(rounds, func(a, b runFile) int { return strings.Compare(filepath.Base(a.path), filepath.Base(b.path)) })
	for _, r := range rounds {
		var runs []string
		if xs, ok := r.m["failover_runs_ms"].([]any); ok {
			for _, x := range xs {
				if f, ok := x.(float64); ok {
					runs = append(runs, fmt.Sprintf("%.0f", f))
				}
			}
		}
		get := func(k string) string {
			v, ok := r.num(k)
			if !ok {
				return "n/a"
			}
			return fmtNum(v)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s → %s |\n", filepath.Base(r.path),
			get("acquire_p50_us"), get("acquire_p99_us"), get("throughput_per_s"), strings.Join(runs, ", "),
			get("renew_packets_per_s"), get("cpu_percent"), get("bytes_per_lease"), get("voter_cpu_percent"),
			r.str("machine", "load_before"), r.str("machine", "load_after"))
	}
	if len(cmds) > 0 {
		b.WriteString("\nCommands:\n\n")
		for _, c := range cmds {
			fmt.Fprintf(&b, "    %s\n", c)
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", endMark)
	return b.String()
}

// updateFile replaces the generated block of path (or appends it, or
// creates the file), keeping everything else.
func updateFile(path, block string) error {
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return os.WriteFile(path, []byte("# tenure vs etcd: benchmark results\n\n"+block), 0o644)
	}
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		return os.WriteFile(path, []byte(strings.TrimRight(s, "\n")+"\n\n"+block), 0o644)
	}
	return os.WriteFile(path, []byte(s[:i]+strings.TrimRight(block, "\n")+s[j+len(endMark):]), 0o644)
}

package benchreport

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/bench/benchutil"
)

// Meta is what the report says about the run beyond its figures.
type Meta struct {
	// Commit names the tenure source measured, e.g. "4010c11" or
	// "4010c11 (with local changes)".
	Commit string
	// Now is when the report was made.
	Now time.Time
	// Commands produced the figures; Notes go under the tables.
	Commands, Notes []string
}

// Render is the generated block of RESULTS.md, markers included.
func Render(tenure, etcd []Run, m Meta) string {
	s := Summarize(tenure, etcd)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n## Run of %s, commit %s\n\n", BeginMark, m.Now.UTC().Format("2006-01-02 15:04 UTC"), m.Commit)
	var mach benchutil.Machine
	quick := false
	for _, r := range slices.Concat(tenure, etcd) {
		if mach.NumCPU == 0 {
			mach = r.Machine
		}
		quick = quick || r.Quick
	}
	if quick {
		b.WriteString("**Quick smoke run: short windows and few leases; these figures are not the measurement.**\n\n")
	}
	fmt.Fprintf(&b, "Machine: %d CPUs (nproc), %s; %s, %s. ", mach.NumCPU, mach.CPUModel, mach.OS, mach.GoVersion)
	fmt.Fprintf(&b, "Rounds: %d of tenure and %d of etcd, alternating (tenure, etcd, tenure, ...); ", len(tenure), len(etcd))
	b.WriteString("each figure is the median of the rounds, the worst failover the worst run of all rounds. ")
	b.WriteString("etcd's best case is, per figure, the better of its two session modes at the same concurrency. ")
	b.WriteString("The load average before each round is in the last table.\n\n")

	b.WriteString("### Targets (issue 16), judged by the script from the figures below\n\n")
	b.WriteString("| target | measured | bound | verdict |\n|---|---|---|---|\n")
	for _, v := range Verdicts(s) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", v.Target, orNA(v.Measured), orNA(v.Bound), v.Outcome)
	}

	ws := s.Workers()
	curveTable(&b, s, ws, "Acquire latency p50 (µs), each worker on a name of its own", func(p Point) float64 { return p.P50us })
	curveTable(&b, s, ws, "Acquire latency p99 (µs)", func(p Point) float64 { return p.P99us })
	curveTable(&b, s, ws, "Throughput: lock+unlock cycles per second on distinct names", func(p Point) float64 { return p.PerS })
	holdTable(&b, s)
	failoverTable(&b, s)
	roundsTable(&b, tenure, etcd, ws)

	if len(m.Commands) > 0 {
		b.WriteString("\nCommands:\n\n")
		for _, c := range m.Commands {
			fmt.Fprintf(&b, "    %s\n", c)
		}
	}
	if len(m.Notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range m.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", EndMark)
	return b.String()
}

// curveTable writes one figure of both curves by concurrency.
func curveTable(b *strings.Builder, s Summary, ws []int, title string, get func(Point) float64) {
	fmt.Fprintf(b, "\n### %s\n\n", title)
	b.WriteString("| workers | tenure | etcd, one shared session | etcd, a session per worker | etcd's best | tenure / etcd's best |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|\n")
	cell := func(p Point, ok bool) string {
		if !ok {
			return "n/a"
		}
		return num(get(p))
	}
	for _, w := range ws {
		t, tok := s.TenureAt(w)
		sh, shok := s.Etcd.Curve[benchutil.ModeSharedSession][w]
		pw, pwok := s.Etcd.Curve[benchutil.ModeSessionPerWorker][w]
		e, eok := s.EtcdBest(w)
		r := "n/a"
		if tok && eok {
			r = ratio(get(t), get(e))
		}
		fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s |\n", w, cell(t, tok), cell(sh, shok), cell(pw, pwok), cell(e, eok), r)
	}
}

// holdTable writes the held-lease figures of both systems.
func holdTable(b *strings.Builder, s Summary) {
	b.WriteString("\n### Held leases: one node (etcd: one client, one session) holding many, renewing them\n\n")
	b.WriteString("| system | leases | TTL (s) | holder CPU (% of a core) | datagrams/s to each voter | bytes/s to each voter | heap per lease (B) | holder RSS (MiB) | each voter's CPU (%) | largest voter RSS (MiB) | leases added, in (s) |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, sys := range []struct {
		name string
		side Side
	}{{"tenure", s.Tenure}, {"etcd", s.Etcd}} {
		ns := slices.Sorted(func(yield func(int) bool) {
			for n := range sys.side.Hold {
				if !yield(n) {
					return
				}
			}
		})
		for _, n := range ns {
			h := sys.side.Hold[n]
			pk, by := num(h.PacketsPerSPerVoter), num(h.BytesPerSPerVoter)
			if sys.name == "etcd" {
				pk, by = "n/a (TCP)", "n/a"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", sys.name, count(n), num(h.TTLMs/1000),
				num(h.CPUPercent), pk, by, num(h.BytesPerLease), num(h.HolderRSSBytes/(1<<20)),
				num(h.VoterCPUPercent), num(h.VoterRSSBytes/(1<<20)), fmt.Sprintf("%d in %s", h.Added, num(h.AcquireS)))
		}
	}
}

// failoverTable writes both systems' failover figures.
func failoverTable(b *strings.Builder, s Summary) {
	b.WriteString("\n### Failover: kill -9 of the holder to the blocked waiter's grant\n\n")
	b.WriteString("| system | TTL (ms) | kills | worst (ms) | median (ms) | bound TTL·(1+2ε)+100 ms |\n|---|---:|---:|---:|---:|---:|\n")
	for _, sys := range []struct {
		name string
		f    *Failover
	}{{"tenure", s.Tenure.Failover}, {"etcd", s.Etcd.Failover}} {
		if sys.f == nil {
			fmt.Fprintf(b, "| %s | n/a | 0 | n/a | n/a | n/a |\n", sys.name)
			continue
		}
		bound := "n/a"
		if sys.f.BoundMs > 0 {
			bound = num(sys.f.BoundMs)
		}
		fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s |\n", sys.name, num(sys.f.TTLMs), sys.f.Runs, num(sys.f.WorstMs), num(sys.f.MedianMs), bound)
	}
}

// roundsTable writes one row per round, in the order they ran.
func roundsTable(b *strings.Builder, tenure, etcd []Run, ws []int) {
	rounds := slices.Concat(tenure, etcd)
	slices.SortStableFunc(rounds, func(x, y Run) int { return x.Started.Compare(y.Started) })
	var holds []int
	for _, r := range rounds {
		for _, h := range r.Hold {
			holds = append(holds, h.Leases)
		}
	}
	slices.Sort(holds)
	holds = slices.Compact(holds)
	b.WriteString("\n### Every round, in the order they ran (etcd's curve cells: shared session / session per worker)\n\n")
	b.WriteString("| round | load before (1, 5, 15 min) | load after | wall (s) |")
	sep := "|---|---|---|---:|"
	for _, w := range ws {
		fmt.Fprintf(b, " p50 µs, %d | cycles/s, %d |", w, w)
		sep += "---:|---:|"
	}
	b.WriteString(" failover worst (ms) |")
	sep += "---:|"
	for _, n := range holds {
		fmt.Fprintf(b, " CPU %%, %s leases |", count(n))
		sep += "---:|"
	}
	b.WriteString("\n" + sep + "\n")
	for _, r := range rounds {
		fmt.Fprintf(b, "| %s | %s | %s | %s |", baseName(r.Path), orNA(r.Machine.LoadBefore), orNA(r.Machine.LoadAfter), num(r.ElapsedS))
		for _, w := range ws {
			var p50, perS []string
			for _, mode := range []string{benchutil.ModeNode, benchutil.ModeSharedSession, benchutil.ModeSessionPerWorker} {
				for _, p := range r.Curve {
					if p.Mode == mode && p.Workers == w {
						p50, perS = append(p50, num(p.AcquireP50us)), append(perS, num(p.ThroughputPerS))
					}
				}
			}
			fmt.Fprintf(b, " %s | %s |", orNA(strings.Join(p50, " / ")), orNA(strings.Join(perS, " / ")))
		}
		fo := "n/a"
		if r.Failover != nil {
			fo = num(r.Failover.WorstMs)
		}
		fmt.Fprintf(b, " %s |", fo)
		for _, n := range holds {
			c := "n/a"
			for _, h := range r.Hold {
				if h.Leases == n {
					c = num(h.CPUPercent)
				}
			}
			fmt.Fprintf(b, " %s |", c)
		}
		b.WriteString("\n")
	}
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// num formats a figure with three significant digits or fewer decimals.
func num(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "n/a"
	case math.Abs(x) >= 100:
		return strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	case math.Abs(x) >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// ratio is t/e with two decimals, or n/a.
func ratio(t, e float64) string {
	if e == 0 {
		return "n/a"
	}
	return strconv.FormatFloat(t/e, 'f', 2, 64)
}

// count writes a lease count: powers of ten as 10⁴, others plainly.
func count(n int) string {
	sup := []string{"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"}
	for k, p := 2, 100; k <= 9; k, p = k+1, p*10 {
		if n == p {
			return "10" + sup[k]
		}
	}
	return strconv.Itoa(n)
}

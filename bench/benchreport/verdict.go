package benchreport

import (
	"fmt"
	"strconv"
)

// Outcome is a target's verdict.
type Outcome int

const (
	// NotMeasured: a figure the target needs is missing from the run.
	NotMeasured Outcome = iota
	// Met: the figures satisfy the target.
	Met
	// Missed: they do not.
	Missed
)

// String is the verdict as the report writes it.
func (o Outcome) String() string {
	switch o {
	case Met:
		return "met"
	case Missed:
		return "**missed**"
	}
	return "not measured"
}

// Verdict is one target of issue 16 judged against a run.
type Verdict struct {
	// Target states the goal; Measured the figures it was judged on;
	// Bound the limit they were held to ("" if not measured).
	Target, Measured, Bound string
	Outcome                 Outcome
}

// The targets of issue 16, each on one run of bench/compare.sh.
const (
	// P50Ratio and P50MaxUs: tenure's acquire p50 at one worker at most
	// etcd's best case over P50Ratio, and at most P50MaxUs.
	P50Ratio = 5
	P50MaxUs = 100
	// P99Ratio: its p99 at one worker at most etcd's best over P99Ratio.
	P99Ratio = 3
	// ThroughputRatio: its throughput at least this times etcd's best, at
	// each of ThroughputWorkers.
	ThroughputRatio = 5
	// HoldSmall and HoldLarge are the counts of held leases the CPU and
	// traffic targets are stated for.
	HoldSmall = 10_000
	HoldLarge = 100_000
	// HoldSmallCPU, HoldLargeCPU: the holder's CPU in % of one core.
	HoldSmallCPU = 2
	HoldLargeCPU = 15
	// HoldLargePackets: datagrams per second to each voter at HoldLarge.
	HoldLargePackets = 300
)

// ThroughputWorkers are the concurrencies of the throughput target.
var ThroughputWorkers = []int{32, 128}

// Verdicts judges every target against s. Each verdict is computed from
// the figures alone; a missing figure gives NotMeasured, never Met.
func Verdicts(s Summary) []Verdict {
	var out []Verdict
	judge := func(ok bool) Outcome {
		if ok {
			return Met
		}
		return Missed
	}
	t1, tok := s.TenureAt(1)
	e1, eok := s.EtcdBest(1)

	v := Verdict{Target: fmt.Sprintf("acquire p50, 1 worker: ≤ 1/%d of etcd's best and ≤ %d µs", P50Ratio, P50MaxUs)}
	if tok && eok {
		bound := min(e1.P50us/P50Ratio, P50MaxUs)
		v.Measured = fmt.Sprintf("%s µs vs etcd %s µs (%s)", num(t1.P50us), num(e1.P50us), ratio(t1.P50us, e1.P50us))
		v.Bound = fmt.Sprintf("≤ %s µs", num(bound))
		v.Outcome = judge(t1.P50us <= bound)
	}
	out = append(out, v)

	v = Verdict{Target: fmt.Sprintf("acquire p99, 1 worker: ≤ 1/%d of etcd's best", P99Ratio)}
	if tok && eok {
		bound := e1.P99us / P99Ratio
		v.Measured = fmt.Sprintf("%s µs vs etcd %s µs (%s)", num(t1.P99us), num(e1.P99us), ratio(t1.P99us, e1.P99us))
		v.Bound = fmt.Sprintf("≤ %s µs", num(bound))
		v.Outcome = judge(t1.P99us <= bound)
	}
	out = append(out, v)

	for _, w := range ThroughputWorkers {
		v = Verdict{Target: fmt.Sprintf("throughput, %d workers: ≥ %d× etcd's best", w, ThroughputRatio)}
		t, tok := s.TenureAt(w)
		e, eok := s.EtcdBest(w)
		if tok && eok {
			bound := ThroughputRatio * e.PerS
			v.Measured = fmt.Sprintf("%s/s vs etcd %s/s (%s)", num(t.PerS), num(e.PerS), ratio(t.PerS, e.PerS))
			v.Bound = fmt.Sprintf("≥ %s/s", num(bound))
			v.Outcome = judge(t.PerS >= bound)
		}
		out = append(out, v)
	}

	v = Verdict{Target: "failover: worst run ≤ TTL·(1+2ε)+100 ms"}
	if f := s.Tenure.Failover; f != nil && f.BoundMs > 0 {
		v.Measured = fmt.Sprintf("worst of %d kills at TTL %s ms: %s ms (median %s)", f.Runs, num(f.TTLMs), num(f.WorstMs), num(f.MedianMs))
		if e := s.Etcd.Failover; e != nil {
			v.Measured += fmt.Sprintf("; etcd worst %s ms", num(e.WorstMs))
		}
		v.Bound = fmt.Sprintf("≤ %s ms", num(f.BoundMs))
		v.Outcome = judge(f.WorstMs <= f.BoundMs)
	}
	out = append(out, v)

	out = append(out, holdVerdict(s, HoldSmall, "holder CPU", HoldSmallCPU, "% of a core",
		func(h Hold) float64 { return h.CPUPercent }))
	out = append(out, holdVerdict(s, HoldLarge, "holder CPU", HoldLargeCPU, "% of a core",
		func(h Hold) float64 { return h.CPUPercent }))
	out = append(out, holdVerdict(s, HoldLarge, "datagrams to each voter", HoldLargePackets, "/s",
		func(h Hold) float64 { return h.PacketsPerSPerVoter }))
	return out
}

// holdVerdict judges get(tenure's hold point at n leases) ≤ limit.
func holdVerdict(s Summary, n int, what string, limit float64, unit string, get func(Hold) float64) Verdict {
	lim := strconv.FormatFloat(limit, 'f', -1, 64)
	v := Verdict{Target: fmt.Sprintf("%s held leases: %s ≤ %s%s", count(n), what, lim, unit)}
	h, ok := s.Tenure.Hold[n]
	if !ok {
		return v
	}
	v.Measured = fmt.Sprintf("%s%s (TTL %s s)", num(get(h)), unit, num(h.TTLMs/1000))
	v.Bound = fmt.Sprintf("≤ %s%s", lim, unit)
	if get(h) <= limit {
		v.Outcome = Met
	} else {
		v.Outcome = Missed
	}
	return v
}

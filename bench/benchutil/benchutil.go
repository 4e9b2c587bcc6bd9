// Package benchutil holds what both sides of the etcd comparison compute
// the same way: percentiles and means of latencies, the machine a run was
// taken on, and process CPU time. It imports only the standard library, so
// the separate bench/etcd module can import it without pulling in tenure's
// dependencies (and the main module never depends on etcd).
package benchutil

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Machine describes the host of a run, as both sides write it in JSON.
type Machine struct {
	NumCPU     int    `json:"nproc"`
	CPUModel   string `json:"cpu_model"`
	GoVersion  string `json:"go"`
	OS         string `json:"os"`
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
}

// MachineInfo reads what Machine needs from the runtime and /proc; the
// caller sets LoadAfter at the end of its run.
func MachineInfo() Machine {
	return Machine{
		NumCPU:     runtime.NumCPU(),
		CPUModel:   CPUModel(),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		LoadBefore: LoadAvg(),
	}
}

// CPUModel is the first "model name" of /proc/cpuinfo, or "".
func CPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// LoadAvg is the first three fields of /proc/loadavg, or "".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// Percentile returns the p-th percentile (0 < p ≤ 100, nearest rank) of
// sorted, or 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// Mean is the arithmetic mean of ds, or 0.
func Mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// Median of xs (not modified), or 0.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// US is d in microseconds; MS in milliseconds.
func US(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// MS is d in milliseconds.
func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Latencies summarises sequential acquire-then-release cycles the same way
// on both sides of the comparison. Percentiles are nearest rank.
type Latencies struct {
	Count                               int
	P50us, P99us, MeanUs, MaxUs, RelP50 float64
}

// Summarize sorts acq and rel in place and summarises them; acq must not
// be empty.
func Summarize(acq, rel []time.Duration) Latencies {
	avg := Mean(acq)
	slices.Sort(acq)
	slices.Sort(rel)
	return Latencies{
		Count:  len(acq),
		P50us:  US(Percentile(acq, 50)),
		P99us:  US(Percentile(acq, 99)),
		MeanUs: US(avg),
		MaxUs:  US(acq[len(acq)-1]),
		RelP50: US(Percentile(rel, 50)),
	}
}

package sim

// The drivers: Run, RunToEnd and Sweep. They are the only code of the
// package that reads the wall clock (to report a run's speed: Result.Wall,
// Summary.WallSeconds and EventsPerSec, which nothing simulated sees) or
// starts goroutines (Sweep runs seeds in parallel, each run single-threaded
// and deterministic on its own). TestDeterministicCore keeps it so.

import (
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Run simulates a whole run with the random workload and returns its
// result. It stops early at the first violation.
func Run(opts Options) (*Result, error) {
	s, err := New(opts, nil)
	if err != nil {
		return nil, err
	}
	return s.RunToEnd(), nil
}

// RunToEnd runs the scheduled workload until the end of the quiet phase or
// the first violation, and returns the result.
func (s *Sim) RunToEnd() *Result {
	start := time.Now()
	s.runUntil(s.end)
	return s.result(time.Since(start))
}

// Summary aggregates the runs of a sweep. Everything in it but the wall
// time and the speed is a function of the options and the seeds alone.
type Summary struct {
	// FirstSeed and Seeds say which seeds ran: FirstSeed, FirstSeed+1, ...
	// A sweep stops at its first violating seed, so Seeds may be smaller
	// than the number asked for.
	FirstSeed uint64 `json:"first_seed"`
	Seeds     int    `json:"seeds"`
	// Violations lists the violation of the lowest violating seed (a sweep
	// stops there); empty when there is none.
	Violations []*Violation `json:"violations"`
	// Grants counts EventAcquired over all runs.
	Grants uint64 `json:"grants"`
	// MaxConcurrentHolders is the most nodes that believed they held one
	// lease at one instant (1 unless there is a violation).
	MaxConcurrentHolders int `json:"max_concurrent_holders"`
	// Availability is the mean over runs and leases of the fraction of time
	// a lease had a holder. The workload keeps every lease contended.
	Availability float64 `json:"availability"`
	// FailoverP50Ms and FailoverP99Ms are percentiles of the time from a
	// holder's crash to the next grant of that lease.
	FailoverP50Ms float64 `json:"failover_p50_ms"`
	FailoverP99Ms float64 `json:"failover_p99_ms"`
	// Failovers is the number of such measurements.
	Failovers int `json:"failovers"`
	// TakeoverP50Ms, TakeoverP99Ms and TakeoverMaxMs are percentiles of
	// the time from a tenure's end other than by release (the holder
	// crashed, abandoned the lease or lost it) while another client waited,
	// to the next grant of that lease; Takeovers is the number of
	// measurements.
	TakeoverP50Ms float64 `json:"takeover_p50_ms"`
	TakeoverP99Ms float64 `json:"takeover_p99_ms"`
	TakeoverMaxMs float64 `json:"takeover_max_ms"`
	Takeovers     int     `json:"takeovers"`
	// MessagesPerGrant is protocol messages sent per grant.
	MessagesPerGrant float64 `json:"messages_per_grant"`
	// MessagesPerSec is protocol messages sent per simulated second, the
	// quiet phase included.
	MessagesPerSec float64 `json:"messages_per_sec"`
	// VoterMsgsPerSec is, per voter (n1..nV), the messages sent to it per
	// simulated second; VoterDatagramsPerSec the datagrams that carried
	// them. Lost ones count: it is the load offered to the voter.
	VoterMsgsPerSec      []float64 `json:"voter_msgs_per_sec"`
	VoterDatagramsPerSec []float64 `json:"voter_datagrams_per_sec"`
	// Events counts heap pops that did something: datagram deliveries,
	// machine wake-ups, client actions, fenced writes, faults and clock
	// changes (stale, cancelled entries are not counted).
	Events uint64 `json:"events"`
	// EventsPerSec is Events over the wall time of the sweep (all workers).
	EventsPerSec float64 `json:"events_per_sec"`
	// SimSeconds is the simulated time of all runs.
	SimSeconds float64 `json:"sim_seconds"`
	// WallSeconds is how long the sweep took.
	WallSeconds float64 `json:"wall_seconds"`
	// Writes and WritesRejected count the fenced resource's decisions.
	Writes         uint64 `json:"writes_accepted"`
	WritesRejected uint64 `json:"writes_rejected"`
	// TraceDigest is the sha256 of the trace for one seed; for several, the
	// sha256 of their digests in seed order.
	TraceDigest string `json:"trace_digest"`
	// Operator sums the operator's actions over the runs.
	Operator OperatorStats `json:"operator"`
	// Checks sums the checkers' judgements over the runs.
	Checks Checks `json:"checks"`
	// Reconfig sums the voter changes over the runs.
	Reconfig ReconfigStats `json:"reconfig"`
}

// Sweep runs seeds base.Seed, base.Seed+1, ... (count of them) on workers
// goroutines (0: GOMAXPROCS), each run deterministic on its own, and stops
// at the first violating seed. progress, if not nil, is called after each
// finished run with the number finished and the simulated events of those
// runs, one call at a time.
func Sweep(base Options, count, workers int, progress func(done int, events uint64)) (*Summary, error) {
	if err := base.Validate(); err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(count, 1))
	results := make([]*Result, count)
	var next, done atomic.Int64
	var events atomic.Uint64
	var stopAt atomic.Int64 // index of the lowest violating seed so far
	stopAt.Store(int64(count))
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(count) || i > stopAt.Load() {
					return
				}
				o := base
				o.Seed = base.Seed + uint64(i)
				r, err := Run(o)
				if err != nil { // Validate passed: cannot happen
					panic(err)
				}
				results[i] = r
				if r.Violation != nil {
					for {
						cur := stopAt.Load()
						if i >= cur || stopAt.CompareAndSwap(cur, i) {
							break
						}
					}
				}
				mu.Lock() // counts and calls in one order
				d, ev := done.Add(1), events.Add(r.Events)
				if progress != nil {
					progress(int(d), ev)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	last := min(int(stopAt.Load()), count-1)
	return summarize(base.Seed, results[:last+1], wall), nil
}

func summarize(first uint64, rs []*Result, wall time.Duration) *Summary {
	sum := &Summary{FirstSeed: first, Seeds: len(rs), Violations: []*Violation{}, WallSeconds: wall.Seconds()}
	var fails, takes []time.Duration
	var msgs uint64
	var vm, vd []uint64
	dig := sha256.New()
	for _, r := range rs {
		sum.Grants += r.Grants
		sum.MaxConcurrentHolders = max(sum.MaxConcurrentHolders, r.MaxConcurrentHolders)
		sum.Availability += r.Availability
		fails = append(fails, r.Failovers...)
		takes = append(takes, r.Takeovers...)
		msgs += r.Messages
		vm, vd = addCounts(vm, r.VoterMessages), addCounts(vd, r.VoterDatagrams)
		sum.Events += r.Events
		sum.SimSeconds += r.SimTime.Seconds()
		sum.Writes += r.Writes
		sum.WritesRejected += r.Rejected
		sum.Operator.add(r.Operator)
		sum.Checks.add(r.Checks)
		sum.Reconfig.add(r.Reconfig)
		dig.Write([]byte(r.TraceDigest))
		if r.Violation != nil {
			sum.Violations = append(sum.Violations, r.Violation)
		}
	}
	if len(rs) > 0 {
		sum.Availability /= float64(len(rs))
	}
	if len(rs) == 1 {
		sum.TraceDigest = rs[0].TraceDigest
	} else {
		sum.TraceDigest = hex.EncodeToString(dig.Sum(nil))
	}
	if sum.Grants > 0 {
		sum.MessagesPerGrant = float64(msgs) / float64(sum.Grants)
	}
	if wall > 0 {
		sum.EventsPerSec = float64(sum.Events) / wall.Seconds()
	}
	sum.VoterMsgsPerSec, sum.VoterDatagramsPerSec = []float64{}, []float64{}
	if sum.SimSeconds > 0 {
		sum.MessagesPerSec = float64(msgs) / sum.SimSeconds
		for i := range vm {
			sum.VoterMsgsPerSec = append(sum.VoterMsgsPerSec, float64(vm[i])/sum.SimSeconds)
			sum.VoterDatagramsPerSec = append(sum.VoterDatagramsPerSec, float64(vd[i])/sum.SimSeconds)
		}
	}
	slices.Sort(fails)
	sum.Failovers = len(fails)
	sum.FailoverP50Ms = percentileMs(fails, 0.50)
	sum.FailoverP99Ms = percentileMs(fails, 0.99)
	slices.Sort(takes)
	sum.Takeovers = len(takes)
	sum.TakeoverP50Ms = percentileMs(takes, 0.50)
	sum.TakeoverP99Ms = percentileMs(takes, 0.99)
	sum.TakeoverMaxMs = percentileMs(takes, 1)
	return sum
}

// addCounts adds b to a element by element, growing a to b's length.
func addCounts(a, b []uint64) []uint64 {
	for len(a) < len(b) {
		a = append(a, 0)
	}
	for i, v := range b {
		a[i] += v
	}
	return a
}

// percentileMs is the nearest-rank percentile of sorted durations, in ms.
func percentileMs(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	k := int(float64(len(sorted))*p+0.999999) - 1
	k = max(0, min(k, len(sorted)-1))
	return float64(sorted[k]) / 1e6
}

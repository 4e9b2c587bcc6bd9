package sim

import (
	"runtime/debug"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSimDefault runs the default cluster (5 voters, 2 client nodes, 3
// leases, mild faults) for one simulated minute plus the quiet phase per
// iteration, on one goroutine. An event is one heap pop that did something:
// a datagram delivered, a machine woken, a client action, a fenced write, a
// fault or a clock change. events/s is per wall second; events/cpu-s is per
// second of this process's CPU time (GC included), which is what to read on
// a machine shared with other work.
func BenchmarkSimDefault(b *testing.B) { benchSim(b, time.Minute, 100) }

// BenchmarkSimDefault10m is the same with the default 10 minutes per run.
func BenchmarkSimDefault10m(b *testing.B) { benchSim(b, 10*time.Minute, 100) }

// BenchmarkSimDefault10mGC400 runs with GOGC=400, as `tenure sim` does: the
// protocol allocates about three small objects per event, and a simulator
// with a small live heap can trade memory for fewer collections.
func BenchmarkSimDefault10mGC400(b *testing.B) { benchSim(b, 10*time.Minute, 400) }

func benchSim(b *testing.B, d time.Duration, gogc int) {
	o := DefaultOptions()
	o.Duration = d
	benchOpts(b, o, gogc)
}

// benchOpts runs o with seeds 1, 2, ... one per iteration, with GOGC gogc.
func benchOpts(b *testing.B, o Options, gogc int) {
	defer debug.SetGCPercent(debug.SetGCPercent(gogc))
	var events uint64
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		o.Seed = uint64(i + 1)
		r, err := Run(o)
		if err != nil {
			b.Fatal(err)
		}
		if r.Violation != nil {
			b.Fatalf("seed %d: %s", o.Seed, describe(r.Violation))
		}
		events += r.Events
	}
	b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(events)/(cpuTime()-cpu0).Seconds(), "events/cpu-s")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
}

// cpuTime is the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSimLeader1000 runs 5 voters and 1,000 client nodes
// campaigning for one lease for one simulated minute plus the quiet phase,
// mild faults: `tenure sim --clients 1000 --leases 1 --duration 1m`.
func BenchmarkSimLeader1000(b *testing.B) {
	o := DefaultOptions()
	o.Clients, o.Leases, o.Duration = 1000, 1, time.Minute
	benchOpts(b, o, 400)
}

// BenchmarkSimTasks1000 runs 5 voters and 1,000 client nodes, each node's
// one client taking a random name of 10,000 per tenure, for one simulated
// minute plus the quiet phase, mild faults: `tenure sim --clients 1000
// --leases 10000 --slots 1 --duration 1m`.
func BenchmarkSimTasks1000(b *testing.B) {
	o := DefaultOptions()
	o.Clients, o.Leases, o.Slots, o.Duration = 1000, 10000, 1, time.Minute
	benchOpts(b, o, 400)
}

package node

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAcquire measures Acquire latency (grant seen by the caller) of a
// non-voter on a three-voter loopback cluster, each lease released before
// the next is asked for. Reports p50 and p99 in microseconds.
//
//	go test ./node -run '^$' -bench Acquire -benchtime 2000x
func BenchmarkAcquire(b *testing.B) {
	c := newCluster(b, []string{"a", "b", "c"}, []string{"x"}, nil)
	x := c.nodes["x"]
	// Warm up: routes known, buffers allocated.
	for i := range 50 {
		l := mustAcquire(b, x, fmt.Sprintf("warm-%d", i))
		_ = l.Release(ctx(b, 5*time.Second))
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("bench-%d", i%512)
		t0 := time.Now()
		l, err := x.Acquire(ctx(b, 20*time.Second), name)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		if err := l.Release(ctx(b, 5*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkRenewal10k holds 10,000 leases (default TTL) on one non-voter
// and measures, over a window of steady renewal, the protocol datagrams it
// sends to each voter per second, the CPU the whole process uses (holder
// and three voters together), and the heap per held lease (all four nodes
// together: an upper bound for the holder alone).
//
//	go test ./node -run '^$' -bench Renewal10k -benchtime 1x
func BenchmarkRenewal10k(b *testing.B) {
	for _, retry := range []time.Duration{0, 100 * time.Millisecond} {
		b.Run(fmt.Sprintf("retry=%v", retry), func(b *testing.B) { benchRenewal(b, retry) })
	}
}

func benchRenewal(b *testing.B, retry time.Duration) {
	const leases = 10_000
	const window = 5 * time.Second
	c := newCluster(b, []string{"a", "b", "c"}, []string{"x"}, func(cfg *Config) { cfg.RetryInterval = retry })
	x := c.nodes["x"]

	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	held := make([]*Lease, leases)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				held[i] = mustAcquire(b, x, fmt.Sprintf("lease-%05d", i))
			}
		}()
	}
	for i := range leases {
		work <- i
	}
	close(work)
	wg.Wait()
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	heap := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / leases

	b.ResetTimer()
	for range b.N {
		s0, r0, t0 := x.Stats(), cpuTime(), time.Now()
		time.Sleep(window) // the measured window of steady renewals
		s1, r1, el := x.Stats(), cpuTime(), time.Since(t0)
		lost := 0
		for _, l := range held {
			if l.Err() != nil {
				lost++
			}
		}
		if lost > 0 {
			b.Fatalf("%d leases lost; holder %+v; voter a %+v", lost, x.Stats(), c.nodes["a"].Stats())
		}
		sec := el.Seconds()
		b.ReportMetric(float64(s1.PacketsSent-s0.PacketsSent)/3/sec, "pkts/s/voter")
		b.ReportMetric(float64(s1.BytesSent-s0.BytesSent)/3/sec, "B/s/voter")
		b.ReportMetric(float64(s1.PacketsReceived-s0.PacketsReceived)/sec, "pkts-in/s")
		b.ReportMetric(100*(r1-r0).Seconds()/sec, "cpu-%(4-nodes)")
		b.ReportMetric(float64(s1.DroppedFull-s0.DroppedFull), "dropped")
	}
	b.ReportMetric(heap, "heap-B/lease(4-nodes)")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

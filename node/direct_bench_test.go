package node

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkDatagramPath compares the direct path with memberlist's on a
// three-voter loopback cluster in this process (every node sends one way
// or the other): Holder, one round trip to the voters, and an acquire
// (two rounds) followed by its release. Reports p50 and p99 of each in
// microseconds.
//
//	go test ./node -run '^$' -bench DatagramPath -benchtime 2000x
func BenchmarkDatagramPath(b *testing.B) {
	for _, via := range []string{"direct", "memberlist"} {
		b.Run("via="+via, func(b *testing.B) {
			c := newCluster(b, []string{"a", "b", "c"}, []string{"x"}, func(cfg *Config) {
				cfg.MemberlistDatagrams = via == "memberlist"
			})
			x := c.nodes["x"]
			held := mustAcquire(b, x, "held", WithTTL(30*time.Second))
			for i := range 50 { // warm up: routes known, buffers allocated
				l := mustAcquire(b, x, fmt.Sprintf("warm-%d", i))
				_ = l.Release(ctx(b, 5*time.Second))
			}
			query := make([]time.Duration, 0, b.N)
			acq := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				if h, err := x.Holder(ctx(b, 20*time.Second), "held"); err != nil || h.Token != held.Token() {
					b.Fatalf("Holder: %+v, %v", h, err)
				}
				t1 := time.Now()
				l, err := x.Acquire(ctx(b, 20*time.Second), fmt.Sprintf("bench-%d", i%512))
				if err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				if err := l.Release(ctx(b, 5*time.Second)); err != nil {
					b.Fatal(err)
				}
				query, acq = append(query, t1.Sub(t0)), append(acq, t2.Sub(t1))
			}
			b.StopTimer()
			for _, s := range []struct {
				name string
				d    []time.Duration
			}{{"holder", query}, {"acquire", acq}} {
				slices.Sort(s.d)
				b.ReportMetric(float64(s.d[len(s.d)/2].Microseconds()), s.name+"-p50-µs")
				b.ReportMetric(float64(s.d[len(s.d)*99/100].Microseconds()), s.name+"-p99-µs")
			}
			if x.stats.directOut.Load() == 0 != (via == "memberlist") {
				b.Fatalf("via %s: %d direct datagrams sent", via, x.stats.directOut.Load())
			}
		})
	}
}

// BenchmarkThroughput is the throughput phase of `tenure bench` in one
// process: 32 workers loop acquire-then-release, each on a name of its
// own, on one non-voter with three voters. It reports cycles per second
// and the protocol datagrams the client and each voter send per cycle
// (how well messages to one peer share datagrams).
//
//	go test ./node -run '^$' -bench Throughput -benchtime 20000x
func BenchmarkThroughput(b *testing.B) {
	const workers = 32
	c := newCluster(b, []string{"a", "b", "c"}, []string{"x"}, nil)
	x := c.nodes["x"]
	for i := range workers { // warm up
		l := mustAcquire(b, x, fmt.Sprintf("w-%d", i))
		_ = l.Release(ctx(b, 5*time.Second))
	}
	sent := func() (client, voter uint64) {
		for _, v := range c.voters {
			voter += c.nodes[v].Stats().PacketsSent
		}
		return x.Stats().PacketsSent, voter
	}
	c0, v0 := sent()
	work := make(chan struct{})
	errs := make(chan error, workers)
	t0 := time.Now()
	b.ResetTimer()
	for w := range workers {
		go func() {
			name := fmt.Sprintf("w-%d", w)
			for range work {
				l, err := x.Acquire(ctx(b, 20*time.Second), name)
				if err == nil {
					err = l.Release(ctx(b, 20*time.Second))
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	for range workers {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	el := time.Since(t0)
	c1, v1 := sent()
	b.ReportMetric(float64(b.N)/el.Seconds(), "cycles/s")
	b.ReportMetric(float64(c1-c0)/float64(b.N), "client-dgrams/cycle")
	b.ReportMetric(float64(v1-v0)/3/float64(b.N), "voter-dgrams/cycle")
}

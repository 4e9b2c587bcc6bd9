package tenurebench

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/tenure-dev/tenure/node"
)

// Benchmarks of hot paths that package node's and package protocol's own
// benchmarks do not cover, through exported API only. Run them with
//
//	go test ./bench/tenurebench -run '^$' -bench . -benchtime 2000x

// inProcess starts three voters and one non-voter client on loopback in
// this process and returns the client.
func inProcess(tb testing.TB) *node.Node {
	tb.Helper()
	voters := []string{"a", "b", "c"}
	var join []string
	start := func(name string) *node.Node {
		n, err := node.New(node.Config{Name: name, BindAddr: "127.0.0.1", Voters: voters, Join: join, DataDir: tb.TempDir(), NewCluster: true})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = n.Shutdown() })
		return n
	}
	first := start("a")
	join = []string{first.Addr()}
	start("b")
	start("c")
	x := start("x")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := waitRoutes(ctx, x, voters); err != nil {
		tb.Fatal(err)
	}
	for i := range 20 {
		if _, _, err := cycle(ctx, x, fmt.Sprintf("warm-%d", i), 0); err != nil {
			tb.Fatal(err)
		}
	}
	return x
}

// BenchmarkParallelAcquire measures the throughput of independent leases:
// GOMAXPROCS×8 goroutines (-cpu scales it), each looping acquire-then-
// release on a lease name of its own, on one non-voter node with three
// in-process voters. ns/op is the inverse of the cycle rate.
func BenchmarkParallelAcquire(b *testing.B) {
	x := inProcess(b)
	var id atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		name := fmt.Sprintf("par-%d", id.Add(1))
		for pb.Next() {
			if _, _, err := cycle(context.Background(), x, name, 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHolderQuery measures Node.Holder, one round trip to a majority
// of voters, for a lease another caller holds.
func BenchmarkHolderQuery(b *testing.B) {
	x := inProcess(b)
	ctx := context.Background()
	l, err := x.Acquire(ctx, "held", node.WithTTL(30*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = l.Release(ctx) }()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		h, err := x.Holder(ctx, "held")
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		if h.Token != l.Token() {
			b.Fatalf("holder token %d, want %d", h.Token, l.Token())
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(us(percentile(lat, 50)), "p50-µs")
	b.ReportMetric(us(percentile(lat, 99)), "p99-µs")
}

// echo is a memberlist delegate that answers every user message with a
// copy to its sender, or signals got.
type echo struct {
	ml   atomic.Pointer[memberlist.Memberlist]
	peer atomic.Pointer[memberlist.Node]
	got  chan struct{}
}

func (e *echo) NodeMeta(int) []byte                 { return nil }
func (e *echo) GetBroadcasts(int, int) [][]byte     { return nil }
func (e *echo) LocalState(bool) []byte              { return nil }
func (e *echo) MergeRemoteState(buf []byte, _ bool) {}
func (e *echo) NotifyMsg(b []byte) {
	if e.got != nil {
		e.got <- struct{}{}
		return
	}
	if p := e.peer.Load(); p != nil {
		_ = e.ml.Load().SendBestEffort(p, append([]byte(nil), b...))
	}
}

// BenchmarkMemberlistRoundTrip is the transport floor under every
// protocol round: one best-effort datagram of a typical batch size to a
// peer and its echo back, with the node's memberlist settings (LAN preset,
// compression off, a label). B/op shows memberlist's receive path: it
// allocates a 64 KiB buffer per datagram received (NetTransport.udpListen),
// which is most of the GC work of a busy node.
func BenchmarkMemberlistRoundTrip(b *testing.B) {
	mk := func(name string, d *echo) *memberlist.Memberlist {
		c := memberlist.DefaultLANConfig()
		c.Name, c.BindAddr, c.BindPort, c.AdvertisePort = name, "127.0.0.1", 0, 0
		c.Label = "tenure"
		c.EnableCompression = false
		c.Delegate = d
		c.Logger = log.New(io.Discard, "", 0)
		ml, err := memberlist.Create(c)
		if err != nil {
			b.Fatal(err)
		}
		d.ml.Store(ml)
		b.Cleanup(func() { _ = ml.Shutdown() })
		return ml
	}
	pinger, ponger := &echo{got: make(chan struct{}, 1)}, &echo{}
	p := mk("ping", pinger)
	q := mk("pong", ponger)
	if _, err := q.Join([]string{p.LocalNode().Address()}); err != nil {
		b.Fatal(err)
	}
	for _, m := range q.Members() {
		if m.Name == "ping" {
			ponger.peer.Store(m)
		}
	}
	var target *memberlist.Node
	for _, m := range p.Members() {
		if m.Name == "pong" {
			target = m
		}
	}
	if target == nil || ponger.peer.Load() == nil {
		b.Fatal("the two memberlists do not see each other")
	}
	msg := make([]byte, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := p.SendBestEffort(target, msg); err != nil {
			b.Fatal(err)
		}
		select {
		case <-pinger.got:
		case <-time.After(time.Second): // a lost datagram: send again
		}
	}
}

// TestPercentile pins the nearest-rank percentile and the median.
func TestPercentile(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {99, 10}, {100, 10}, {10, 1}, {1, 1}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(1..10, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %v", got)
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3,1,2) = %v", got)
	}
	if got := median([]float64{4, 1, 2, 3}); got != 2.5 {
		t.Errorf("median(4,1,2,3) = %v", got)
	}
}

// TestPidCPU reads this process's own CPU time from /proc.
func TestPidCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := pidCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}

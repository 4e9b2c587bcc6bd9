package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/node"
)

func init() {
	register("demo", "run a five-node cluster in this process and watch failovers", runDemo)
}

const demoAbout = `
Starts three voters (v1 v2 v3) and two other nodes (n1 n2) in this process,
on loopback, with real gossip over UDP, free ports and temporary data dirs.
Every node campaigns for the lease "leader". Every --kill-every the holder
is killed (node.Shutdown: a crash, its lease is not released) and
restarted --restart-after later from the same data dir. The demo prints
who holds the lease, its fencing token, and each failover time: from the
kill to the next grant. A failover takes about one TTL, because the voters
keep a silent holder's lease exclusive until it expires. A restarted voter
sits out a quarantine of about --max-ttl before it votes again (R9).

Runs until Ctrl-C or --duration.`

// demoOpts are the flags of tenure demo.
type demoOpts struct {
	duration, killEvery, restartAfter time.Duration
	ttl, maxTTL                       time.Duration
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	var o demoOpts
	f := newCmdFlags("demo", "tenure demo [flags]", demoAbout)
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until Ctrl-C)")
	f.DurationVar(&o.killEvery, "kill-every", 4*time.Second, "kill the holder this often")
	f.DurationVar(&o.restartAfter, "restart-after", time.Second, "restart a killed node this long after the kill")
	f.DurationVar(&o.ttl, "ttl", time.Second, "lease TTL")
	f.DurationVar(&o.maxTTL, "max-ttl", 2*time.Second, "longest TTL; sets a crashed voter's quarantine")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.NArg() > 0 {
		return f.fail(stderr, "unexpected argument %q", f.Arg(0))
	}
	switch {
	case o.duration < 0:
		return f.fail(stderr, "--duration %v is negative", o.duration)
	case o.killEvery <= 0 || o.restartAfter < 0:
		return f.fail(stderr, "--kill-every %v must be positive and --restart-after %v not negative", o.killEvery, o.restartAfter)
	case o.ttl > o.maxTTL:
		return f.fail(stderr, "--ttl %v is above --max-ttl %v", o.ttl, o.maxTTL)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	d, err := newDemo(o, stdout)
	if err != nil {
		if errors.Is(err, node.ErrConfig) {
			return f.fail(stderr, "%v", err)
		}
		fmt.Fprintf(stderr, "tenure demo: %v\n", err)
		return 1
	}
	defer d.close()
	if err := d.run(ctx); err != nil {
		fmt.Fprintf(stderr, "tenure demo: %v\n", err)
		return 1
	}
	return 0
}

// demoLease is the lease every node campaigns for.
const demoLease = "leader"

// demo is the in-process cluster and its narrator.
type demo struct {
	o      demoOpts
	out    io.Writer
	voters []string
	all    []string
	root   string         // temp dir holding the data dirs
	ports  map[string]int // each node keeps its port across restarts
	start  time.Time
	wg     sync.WaitGroup // campaign goroutines
	outMu  sync.Mutex     // serialises writes to out

	mu        sync.Mutex
	nodes     map[string]*node.Node // the running ones
	holder    string
	token     uint64
	killedAt  time.Time // zero unless a kill awaits its failover
	failovers []time.Duration
}

func newDemo(o demoOpts, out io.Writer) (*demo, error) {
	root, err := os.MkdirTemp("", "tenure-demo-")
	if err != nil {
		return nil, err
	}
	d := &demo{
		o: o, out: out, root: root, start: time.Now(),
		voters: []string{"v1", "v2", "v3"},
		all:    []string{"v1", "v2", "v3", "n1", "n2"},
		ports:  map[string]int{},
		nodes:  map[string]*node.Node{},
	}
	fmt.Fprintf(out, "tenure demo: voters %v and nodes [n1 n2] on 127.0.0.1; every node campaigns for %q (TTL %v).\n",
		d.voters, demoLease, o.ttl)
	fmt.Fprintf(out, "Every %v the holder is killed (a crash: no release) and restarted %v later.\n\n", o.killEvery, o.restartAfter)
	for _, name := range d.all {
		if err := d.startNode(name); err != nil {
			d.close()
			return nil, err
		}
	}
	return d, nil
}

// say prints one line stamped with the time since the demo started.
func (d *demo) say(format string, args ...any) {
	d.outMu.Lock()
	defer d.outMu.Unlock()
	fmt.Fprintf(d.out, "%7.2fs  %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

// startNode starts (or restarts) name from its data dir, on its port,
// joining any running node, and starts its campaign.
func (d *demo) startNode(name string) error {
	d.mu.Lock()
	var join []string
	for _, n := range d.nodes {
		join = append(join, n.Addr())
	}
	d.mu.Unlock()
	dir := filepath.Join(d.root, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	n, err := node.New(node.Config{
		Name: name, BindAddr: "127.0.0.1", BindPort: d.ports[name], Join: join,
		Voters: d.voters, DataDir: dir, DefaultTTL: d.o.ttl, MaxTTL: d.o.maxTTL,
		// The demo's cluster is new: its empty dirs need no quarantine at
		// the first start; restarts find their dirs in use and ignore it.
		NewCluster: true,
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	if _, port, err := net.SplitHostPort(n.Addr()); err == nil {
		d.ports[name], _ = strconv.Atoi(port)
	}
	d.mu.Lock()
	d.nodes[name] = n
	d.mu.Unlock()
	d.wg.Add(1)
	go d.campaign(name, n)
	return nil
}

// campaign acquires the lease on n again and again until n stops.
func (d *demo) campaign(name string, n *node.Node) {
	defer d.wg.Done()
	for {
		l, err := n.Acquire(context.Background(), demoLease, node.WithTTL(d.o.ttl))
		if err != nil {
			return // node.ErrClosed: killed, or the demo is over
		}
		d.granted(name, l)
		<-l.Done()
		d.ended(name, l)
	}
}

func (d *demo) granted(name string, l *node.Lease) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.holder, d.token = name, l.Token()
	tok := fmt.Sprintf("token %d (era %d, round %d)", l.Token(), l.Token()>>32, l.Token()&(1<<32-1))
	if d.killedAt.IsZero() {
		d.say("%s holds %q, %s", name, demoLease, tok)
		return
	}
	fo := time.Since(d.killedAt)
	d.killedAt = time.Time{}
	d.failovers = append(d.failovers, fo)
	d.say("%s holds %q, %s   failover %v", name, demoLease, tok, fo.Round(time.Millisecond))
}

func (d *demo) ended(name string, l *node.Lease) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.holder == name && d.token == l.Token() {
		d.holder = ""
	}
	if err := l.Err(); !errors.Is(err, node.ErrClosed) {
		d.say("%s no longer holds %q: %v", name, demoLease, err)
	}
}

// run kills and restarts holders until ctx ends, then prints a summary.
func (d *demo) run(ctx context.Context) error {
	kill := time.NewTicker(d.o.killEvery)
	defer kill.Stop()
	restart := make(chan string, len(d.all))
	for {
		select {
		case <-ctx.Done():
			d.summary()
			return nil
		case name := <-restart:
			if err := d.startNode(name); err != nil {
				return err
			}
			what := "no quarantine: not a voter"
			if slices.Contains(d.voters, name) {
				what = fmt.Sprintf("a crashed voter: it votes again after a quarantine of about %v", d.o.maxTTL)
			}
			d.say("restart %s from its data dir (%s)", name, what)
		case <-kill.C:
			d.mu.Lock()
			name := d.holder
			n := d.nodes[name]
			if name == "" || n == nil || !d.killedAt.IsZero() {
				d.mu.Unlock()
				continue // no holder right now, or a failover still pending
			}
			delete(d.nodes, name)
			d.killedAt = time.Now()
			d.say("kill %s, the holder (token %d): node.Shutdown, the lease is not released", name, d.token)
			d.mu.Unlock()
			_ = n.Shutdown()
			time.AfterFunc(d.o.restartAfter, func() { restart <- name })
		}
	}
}

func (d *demo) summary() {
	d.mu.Lock()
	fs := slices.Clone(d.failovers)
	d.mu.Unlock()
	if len(fs) == 0 {
		d.say("no failover completed; run longer (--duration) to see some")
		return
	}
	slices.Sort(fs)
	d.outMu.Lock()
	defer d.outMu.Unlock()
	r := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	fmt.Fprintf(d.out, "\n%d failovers: min %v, median %v, max %v (TTL %v)\n", len(fs), r(fs[0]), r(fs[len(fs)/2]), r(fs[len(fs)-1]), d.o.ttl)
}

// close stops every node and removes the data dirs.
func (d *demo) close() {
	d.mu.Lock()
	nodes := d.nodes
	d.nodes = map[string]*node.Node{}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); _ = n.Shutdown() }()
	}
	wg.Wait()
	d.wg.Wait()
	_ = os.RemoveAll(d.root)
}

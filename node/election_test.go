package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// heal restores all traffic of the fault net.
func (f *faultNet) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.cut)
}

// A leader killed mid-term is replaced, and a third node sees the handoff
// through Observe, in order: the old leader, then a vacancy or the new
// leader, whose token is higher (R12). The announcements arrived by
// gossip. Observe values are hints (R14); the test checks their order, not
// their timing.
func TestObserveHandoffAfterCrash(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x", "y"}, nil)
	a, x, y := c.nodes["a"], c.nodes["x"], c.nodes["y"]
	const ttl = time.Second
	obs := a.Observe(ctx(t, 30*time.Second), "lead")

	lx, err := x.Campaign(ctx(t, 20*time.Second), "lead", []byte("x-addr"), WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	for h := next(t, obs); h.Node != "x"; h = next(t, obs) {
		if h.Node != "" {
			t.Fatalf("observed %+v before x led", h)
		}
	}
	if h, err := y.Leader(ctx(t, 10*time.Second), "lead"); err != nil || h.Node != "x" || h.Token != lx.Token() || string(h.Value) != "x-addr" {
		t.Fatalf("Leader = %+v, %v; want x with token %d", h, err, lx.Token())
	}
	got := make(chan *Lease, 1)
	go func() {
		l, err := y.Campaign(ctx(t, 20*time.Second), "lead", []byte("y-addr"), WithTTL(ttl))
		if err != nil {
			t.Errorf("y: Campaign: %v", err)
		}
		got <- l
	}()
	c.stop("x") // a crash: the voters are not told

	var seq []Holder
	for {
		h := next(t, obs)
		seq = append(seq, h)
		if h.Node == "y" {
			break
		}
		if h.Node != "" {
			t.Fatalf("after x crashed, observed %v; want vacancies, then y", seq)
		}
	}
	ly := <-got
	if ly == nil {
		t.FailNow()
	}
	last := seq[len(seq)-1]
	if last.Token <= lx.Token() || last.Token != ly.Token() || string(last.Value) != "y-addr" {
		t.Fatalf("observed %+v; want y's token %d, above x's %d", last, ly.Token(), lx.Token())
	}
	if a.ann.received.Load() == 0 {
		t.Fatal("a received no announcements by gossip")
	}
	// Resigning is announced: the observer reports the vacancy long
	// before y's lease would have expired.
	if err := ly.Release(ctx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if h := next(t, obs); h.Node != "" || h.Token != 0 {
		t.Fatalf("after y resigned: %+v, want a vacancy", h)
	}
}

// An observer cut off from everyone still reports a vacancy by expiry of
// the tenure it knew, by its own clock, though it hears nothing; once the
// network heals it learns the next leader from the voters and gossip.
func TestObserveVacancyWhilePartitioned(t *testing.T) {
	fn := newFaultNet()
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x", "y", "o"}, func(cfg *Config) {
		cfg.Transport = fn.transport(t, cfg.Name)
	})
	x, y, o := c.nodes["x"], c.nodes["y"], c.nodes["o"]
	obs := o.Observe(ctx(t, 30*time.Second), "lead")
	lx, err := x.Campaign(ctx(t, 20*time.Second), "lead", nil, WithTTL(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for h := next(t, obs); h.Node != "x"; h = next(t, obs) {
	}
	fn.partition([]string{"o"}, []string{"a", "b", "c", "x", "y"})
	c.stop("x")
	if h := next(t, obs); h.Node != "" {
		t.Fatalf("partitioned observer reported %+v, want a vacancy", h)
	}
	fn.heal()
	ly, err := y.Campaign(ctx(t, 20*time.Second), "lead", nil, WithTTL(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// x renewed while o was cut off, so the voters may still list x's
	// tenure for a while: o may report it again (same token), then its
	// vacancy, before y.
	h := next(t, obs)
	for ; h.Node != "y"; h = next(t, obs) {
		if h.Node != "" && (h.Node != "x" || h.Token != lx.Token()) {
			t.Fatalf("after healing: %+v; want x's tenure, a vacancy, or y", h)
		}
	}
	if h.Token != ly.Token() || h.Token <= lx.Token() {
		t.Fatalf("after healing: %+v; want y with token %d (x had %d)", h, ly.Token(), lx.Token())
	}
}

// electionLog records RunElection's callbacks per node.
type electionLog struct {
	mu     sync.Mutex
	events map[string][]string
	ch     chan string // "node event", for the test to wait on
}

func (e *electionLog) add(node, ev string) {
	e.mu.Lock()
	e.events[node] = append(e.events[node], ev)
	e.mu.Unlock()
	e.ch <- node + " " + ev
}

func (e *electionLog) run(ctx context.Context, n *Node) error {
	return RunElection(ctx, n, "lead", []byte(n.Name()),
		func(lctx context.Context) {
			e.add(n.Name(), "elected")
			<-lctx.Done()
			e.add(n.Name(), "ctx-done")
		},
		func() { e.add(n.Name(), "defeated") },
		WithTTL(time.Second))
}

func (e *electionLog) await(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case got := <-e.ch:
			if got == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q within 20s", want)
		}
	}
}

// RunElection: a leader cut off from the voters loses its lease; the
// context its onElected got is cancelled, onDefeated fires, and the other
// candidate is elected. Ending RunElection's ctx resigns. Callbacks
// alternate per node, and none fires for a tenure that never began.
func TestRunElection(t *testing.T) {
	fn := newFaultNet()
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x", "y"}, func(cfg *Config) {
		cfg.Transport = fn.transport(t, cfg.Name)
	})
	log := &electionLog{events: map[string][]string{}, ch: make(chan string, 64)}
	ctxs := map[string]context.CancelFunc{}
	errs := map[string]chan error{}
	for _, name := range []string{"x", "y"} {
		cctx, cancel := context.WithCancel(context.Background())
		ctxs[name] = cancel
		errc, n := make(chan error, 1), c.nodes[name]
		errs[name] = errc
		go func() { errc <- log.run(cctx, n) }()
	}
	defer func() {
		for _, cancel := range ctxs {
			cancel()
		}
	}()
	var leader, other string
	select {
	case ev := <-log.ch:
		if _, err := fmt.Sscanf(ev, "%s elected", &leader); err != nil {
			t.Fatalf("first event %q, want an election", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("nobody elected")
	}
	other = map[string]string{"x": "y", "y": "x"}[leader]

	fn.partition([]string{leader}, []string{"a", "b", "c", other})
	log.await(t, leader+" defeated")
	log.await(t, other+" elected")
	fn.heal()

	ctxs[other]()
	if err := <-errs[other]; !errors.Is(err, context.Canceled) {
		t.Fatalf("%s: RunElection returned %v, want context.Canceled", other, err)
	}
	ctxs[leader]()
	if err := <-errs[leader]; !errors.Is(err, context.Canceled) {
		t.Fatalf("%s: RunElection returned %v, want context.Canceled", leader, err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for node, evs := range log.events {
		for i, ev := range evs {
			if want := []string{"elected", "ctx-done", "defeated"}[i%3]; ev != want {
				t.Fatalf("%s: callbacks %v do not alternate", node, evs)
			}
		}
		if len(evs)%3 != 0 {
			t.Fatalf("%s: callbacks %v: a tenure without its end", node, evs)
		}
	}
	if evs := log.events[leader]; len(evs) < 3 {
		t.Fatalf("%s: callbacks %v", leader, evs)
	}
	if evs := log.events[other]; len(evs) < 3 {
		t.Fatalf("%s: callbacks %v", other, evs)
	}
}

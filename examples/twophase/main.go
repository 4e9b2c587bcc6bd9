// Command twophase shows what tenure leases give a two-phase commit, and
// what they do not: a coordinator holds its participants' locks as leases,
// so the locks of a coordinator that crashes mid-transaction come free
// after about one TTL and the dead coordinator's late messages are refused
// by token; but a participant that voted yes never decides alone, and the
// next coordinator learns the fate of the in-doubt transaction from a
// durable decision log before it reuses the locks.
//
//	go run ./examples/twophase --ttl 1s
//	go run ./examples/twophase --ttl 1s --crash some-commits
//
// For each crash point (or the one --crash names), coordinator c1 takes the
// locks of participants p1, p2 and p3 (one lease each, in a fixed order, so
// that two coordinators cannot deadlock) and runs transaction tx1: prepare
// at each, record commit in the decision log (the commit point), commit at
// each. It crashes at the crash point with its next message in flight.
// Coordinator c2 waits for the same locks and gets them once c1's leases
// expire, with higher tokens. Before anything else it asks every
// participant, with its tokens, what is in doubt (which also fences c1 out
// of them), and for each in-doubt transaction asks the log, under its
// tokens (which fences c1 out of the log): a recorded commit is carried out
// everywhere; with nothing recorded, c2 records abort first and then aborts
// everywhere. Then it commits tx2, and c1's message arrives, late, and is
// refused. The program checks that every participant ends with the same
// outcome for tx1 and for tx2: tx1 commits everywhere if c1 crashed after
// the commit point, and nowhere if it crashed before.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/tenure-dev/tenure/examples/internal/loopback"
	"github.com/tenure-dev/tenure/fence"
	"github.com/tenure-dev/tenure/node"
)

func main() {
	ttl := flag.Duration("ttl", time.Second, "lock lease TTL: how long a crashed coordinator's locks stay taken")
	crash := flag.String("crash", "all", "where c1 crashes: all, before-prepare, some-prepares, all-prepares, decision or some-commits")
	duration := flag.Duration("duration", 60*time.Second, "give up if the demo has not finished by then")
	flag.Parse()
	at, err := parseCrash(*crash)
	if err != nil {
		fmt.Fprintln(os.Stderr, "twophase:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	if _, err := run(ctx, os.Stdout, *ttl, at); err != nil {
		fmt.Fprintln(os.Stderr, "twophase:", err)
		os.Exit(1)
	}
}

// parseCrash reads the --crash flag.
func parseCrash(s string) ([]step, error) {
	if s == "all" {
		return steps, nil
	}
	for _, st := range steps {
		if stepNames[st] == s {
			return []step{st}, nil
		}
	}
	return nil, fmt.Errorf("--crash %q: want all, before-prepare, some-prepares, all-prepares, decision or some-commits", s)
}

// result is what one crash scenario ended with.
type result struct {
	crash      step
	committed  map[string][]string // per participant, the transactions it committed
	outcome    map[string]bool     // per transaction, whether it committed (everywhere)
	late       string              // c1's message that was in flight
	lateErr    error               // the answer to it, delivered after c2 finished
	tokensRose bool                // c2's lock tokens are above c1's at every participant
}

// run plays one scenario per crash point on one loopback cluster and
// fails if any ends with a transaction committed at some participants and
// not at others, left in doubt, or with c1's late message admitted.
func run(ctx context.Context, w io.Writer, ttl time.Duration, at []step) ([]result, error) {
	others := []string{"c2"}
	for i := range at {
		others = append(others, fmt.Sprintf("c1-%d", i)) // one per scenario: each is crashed
	}
	cl, err := loopback.Start([]string{"n1", "n2", "n3"}, others, nil)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	var results []result
	for i, st := range at {
		out("== c1 crashes %v", st)
		r, err := scenario(ctx, cl, fmt.Sprintf("c1-%d", i), st, ttl, out)
		if err != nil {
			return results, fmt.Errorf("crash %v: %w", st, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// scenario runs tx1 under c1 (on node c1Node) until the crash point,
// crashes it, lets c2 recover and commit tx2, then delivers c1's message
// that was in flight.
func scenario(ctx context.Context, cl *loopback.Cluster, c1Node string, st step, ttl time.Duration, out func(string, ...any)) (result, error) {
	r := result{crash: st, committed: make(map[string][]string)}
	var ps []*participant
	for _, name := range []string{"p1", "p2", "p3"} {
		p, err := newParticipant(name)
		if err != nil {
			return r, err
		}
		ps = append(ps, p)
	}
	log, err := newDecisionLog(ps)
	if err != nil {
		return r, err
	}

	ls1, err := lockAll(ctx, cl.Node(c1Node), ps, ttl)
	if err != nil {
		return r, err
	}
	c1 := &coordinator{name: "c1", ps: ps, log: log, tokens: tokens(ls1), out: out}
	out("c1 locked %d participants (tokens %v)", len(ps), c1.tokens)
	ms := c1.plan("tx1")
	n := st.sent(len(ps))
	for _, m := range ms[:n] {
		if err := m.send(); err != nil {
			return r, fmt.Errorf("c1: %s: %w", m.what, err)
		}
		out("c1: %s", m.what)
	}
	inFlight := ms[n]
	if err := cl.Crash(c1Node); err != nil {
		return r, err
	}
	crashed := time.Now()
	out("c1 crashed; nobody releases its locks; in flight: %s", inFlight.what)

	ls2, err := lockAll(ctx, cl.Node("c2"), ps, ttl)
	if err != nil {
		return r, err
	}
	defer func() {
		for _, l := range ls2 {
			_ = l.Release(context.Background())
		}
	}()
	c2 := &coordinator{name: "c2", ps: ps, log: log, tokens: tokens(ls2), out: out}
	r.tokensRose = true
	for i := range ps {
		r.tokensRose = r.tokensRose && c2.tokens[i] > c1.tokens[i]
	}
	out("c2 got every lock %v after the crash (TTL %v), tokens %v, higher than c1's: %v",
		time.Since(crashed).Round(10*time.Millisecond), ttl, c2.tokens, r.tokensRose)
	if err := c2.recover(); err != nil {
		return r, err
	}
	if err := c2.run("tx2"); err != nil {
		return r, err
	}

	r.late, r.lateErr = inFlight.what, inFlight.send()
	out("c1's late message, %s: %v", r.late, r.lateErr)
	for _, p := range ps {
		r.committed[p.name], _ = p.state()
	}
	r.outcome, err = checkAtomic(ps, "tx1", "tx2")
	out("p1=%v p2=%v p3=%v; tx1 committed: %v (log: %v); tx2 committed: %v",
		r.committed["p1"], r.committed["p2"], r.committed["p3"], r.outcome["tx1"], log.lookup("tx1"), r.outcome["tx2"])
	if err != nil {
		return r, err
	}
	switch {
	case !r.tokensRose:
		return r, errors.New("c2's tokens did not rise above c1's")
	case !errors.Is(r.lateErr, fence.ErrStale):
		return r, fmt.Errorf("c1's late message was not refused as stale: %v", r.lateErr)
	case !r.outcome["tx2"]:
		return r, errors.New("tx2 did not commit")
	case r.outcome["tx1"] != (st >= afterDecision):
		return r, fmt.Errorf("tx1 committed: %v, but c1 crashed %v", r.outcome["tx1"], st)
	}
	return r, nil
}

// lockAll takes every participant's lock on n, in order, so that two
// coordinators never wait for each other's locks.
func lockAll(ctx context.Context, n *node.Node, ps []*participant, ttl time.Duration) ([]*node.Lease, error) {
	var ls []*node.Lease
	for _, p := range ps {
		l, err := n.Acquire(ctx, lockName(p.name), node.WithTTL(ttl))
		if err != nil {
			for _, l := range slices.Backward(ls) {
				_ = l.Release(ctx)
			}
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// tokens returns the fencing token of each lease.
func tokens(ls []*node.Lease) []uint64 {
	ts := make([]uint64, len(ls))
	for i, l := range ls {
		ts[i] = l.Token()
	}
	return ts
}

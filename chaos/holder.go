package chaos

import (
	"context"
	"fmt"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"
)

// HolderKey is the lease name (and register key) of the holder-restart
// step. It is the step's own: its holder and its waiter are the only
// clients of it, so the waiter is always there and the failover measured
// is the step's.
const HolderKey = "kh"

// HolderRestart is one run of the holder-restart step (FaultRestartHolder):
// a client holds HolderKey through Agent, another client waits for it
// through Waiter, and Agent gets SIGTERM and is started again. Times are
// on the history's clock.
type HolderRestart struct {
	// Agent is the agent restarted; Waiter the one the waiter asked.
	Agent, Waiter string
	// Term is when SIGTERM was sent; Left how long the holder's own
	// deadline still had to run then.
	Term int64
	Left time.Duration
	// Effective says the step tested what it is for: the holder held with
	// at least half a TTL to go at the SIGTERM, and the waiter's acquire
	// had left and was not answered yet.
	Effective bool
	// HolderEnd is when the holder stopped holding: its own deadline (a
	// keepalive through the restarted agent may have moved it) or the
	// moment it sent its release.
	HolderEnd int64
	// Granted is when the waiter's grant arrived; 0 if it was not granted
	// within its wait.
	Granted int64
	// Notes say why a step was not effective, or what else happened.
	Notes []string
}

// Failover is how long after the holder stopped the waiter was granted;
// negative means the two held at once (the overlap check reports it too).
// ok is false if the waiter was not granted.
func (h HolderRestart) Failover() (d time.Duration, ok bool) {
	if h.Granted == 0 {
		return 0, false
	}
	return time.Duration(h.Granted - h.HolderEnd), true
}

// stepClient makes a client of the nemesis's own for key through a. Its id
// is fresh, so its operations never interleave with another client's.
func (n *nemesis) stepClient(a *agentNode, key string) *client {
	n.mu.Lock()
	id := n.nextID
	n.nextID++
	n.mu.Unlock()
	// No rng, zombie rate or counter: a step client never runs the
	// workload loop; the step drives it.
	return &client{id: id, agent: a, key: key, ttl: n.c.cfg.TTL, reg: n.reg, rec: n.rec}
}

// restartHolder runs the holder-restart step (see HolderRestart). It is
// how the chaos test catches an agent that frees its clients' leases when
// it stops (R15): the holder acts until its own deadline, so a waiter
// granted before it is an overlap, every time the step runs.
//
//  1. The holder acquires HolderKey through agent A (trying up to three
//     agents, those that see a voter majority first) and writes with its
//     token; if less than 3/4 of a TTL is left, it renews first.
//  2. The waiter asks for HolderKey through agent B, with a wait of four
//     TTLs; the step goes on once the request has left.
//  3. A gets SIGTERM (SIGKILL after 10 s) and is started again, with its
//     data dir.
//  4. The holder writes again while its deadline allows, and once A
//     answers, tries one keepalive through it: a clean restart may keep
//     its clients' tenures. If that succeeds it writes and releases;
//     otherwise its tenure ends at its deadline and it does nothing more.
//  5. The waiter, once granted, writes and releases.
func (n *nemesis) restartHolder(ctx context.Context) (string, error) {
	c := n.c
	ttl := c.cfg.TTL
	if len(c.agents) < 2 {
		return "skipped: needs two agents", nil
	}
	cands := n.byQuorum(ctx)
	var (
		a, b     *agentNode
		hold     *client
		g        Grant
		deadline int64
		ok       bool
		tried    []string
	)
	for _, cand := range cands[:min(3, len(cands)-1)] {
		hold = n.stepClient(cand, HolderKey)
		if g, deadline, ok = hold.acquire(ctx, 2*ttl); ok {
			a = cand
			break
		}
		tried = append(tried, cand.spec.Name)
	}
	if a == nil {
		n.addHolderRun(HolderRestart{Notes: []string{"the holder was not granted through " + strings.Join(tried, ", ")}})
		return "the holder was not granted through " + strings.Join(tried, ", "), nil
	}
	for _, cand := range cands {
		if cand != a {
			b = cand
			break
		}
	}
	wait := n.stepClient(b, HolderKey)
	run := HolderRestart{Agent: a.spec.Name, Waiter: b.spec.Name}
	defer func() { n.addHolderRun(run) }()
	margin := int64(ttl / 10)
	hold.write(ctx, g.Token, false)
	if deadline-n.rec.now() < int64(3*ttl/4) {
		hold.keepAlive(ctx, g, &deadline)
	}

	// The waiter: its acquire goes out now and is answered after the
	// restart, one way or the other.
	left := make(chan struct{})
	var once sync.Once
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(left) }) },
	})
	type answer struct {
		g            Grant
		at, deadline int64
		ok           bool
	}
	answered := make(chan answer, 1)
	go func() {
		g, d, ok := wait.acquire(tctx, 4*ttl)
		answered <- answer{g, n.rec.now(), d, ok}
	}()
	waiting := false
	select {
	case <-left:
		waiting = true
	case <-time.After(2 * time.Second):
	}
	select {
	case r := <-answered: // answered already: not waiting any more
		answered <- r
		waiting = false
	default:
	}

	run.Term = n.rec.now()
	run.Left = time.Duration(deadline - run.Term)
	run.Effective = waiting && run.Left >= ttl/2
	if !waiting {
		run.Notes = append(run.Notes, "the waiter's acquire was not out, or already answered, at the SIGTERM")
	}
	if run.Left < ttl/2 {
		run.Notes = append(run.Notes, fmt.Sprintf("the holder had only %v left at the SIGTERM", run.Left.Round(time.Millisecond)))
	}
	clean := a.current().term(10 * time.Second)
	err := c.startAgent(a, false)
	if !clean {
		run.Notes = append(run.Notes, "did not stop in 10s: killed")
	}

	// The holder acts on until its own deadline.
	live := func() bool { return n.rec.now() < deadline-margin }
	if live() {
		hold.write(ctx, g.Token, false)
	}
	hctx, cancel := context.WithTimeout(ctx, time.Duration(max(deadline-margin-n.rec.now(), 0)))
	up := waitAgent(hctx, a.spec.HTTP)
	cancel()
	run.HolderEnd = deadline
	if up && live() && hold.keepAlive(ctx, g, &deadline) {
		// The restarted agent kept the tenure: the holder holds on.
		run.Notes = append(run.Notes, "the restarted agent kept the tenure")
		if live() {
			hold.write(ctx, g.Token, false)
		}
		run.HolderEnd = min(deadline, n.rec.now())
		hold.release(ctx, g)
	}

	r := <-answered
	if r.ok {
		run.Granted = r.at
		live := func() bool { return n.rec.now() < r.deadline-margin }
		if live() {
			wait.write(ctx, r.g.Token, false)
		}
		wait.release(ctx, r.g)
	}
	detail := fmt.Sprintf("%s (holder %d, %v left; waiter %d via %s)", a.spec.Name, hold.id,
		run.Left.Round(time.Millisecond), wait.id, b.spec.Name)
	if d, ok := run.Failover(); ok {
		detail += fmt.Sprintf(", waiter granted %v after the holder's end", d.Round(time.Millisecond))
	} else {
		detail += ", waiter not granted"
	}
	if len(run.Notes) > 0 {
		detail += "; " + strings.Join(run.Notes, "; ")
	}
	return detail, err
}

// byQuorum returns the agents in a random order, those that see a majority
// of voters alive (tenure_voter_majority, a gossip hint) first: a holder or
// a waiter behind an agent cut off from the voters tests nothing.
func (n *nemesis) byQuorum(ctx context.Context) []*agentNode {
	var good, rest []*agentNode
	for _, a := range n.shuffled() {
		mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		v, _, _ := scrapeMetric(mctx, a.spec.HTTP, n.c.token, "tenure_voter_majority")
		cancel()
		if v == "1" {
			good = append(good, a)
		} else {
			rest = append(rest, a)
		}
	}
	return append(good, rest...)
}

// addHolderRun records a run of the step.
func (n *nemesis) addHolderRun(r HolderRestart) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.holderRuns = append(n.holderRuns, r)
}

package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"time"

	"github.com/tenure-dev/tenure/chaos/check"
	"github.com/tenure-dev/tenure/chaos/netns"
)

// nemesis injects one fault at a time, on a schedule drawn from its own
// seeded source: a quiet gap, a fault held for a while, the heal.
type nemesis struct {
	c     *Cluster
	rng   *rand.Rand // used by the nemesis goroutine only
	rec   *recorder  // the clients' history: the steps with clients record into it
	reg   *regClient
	clock func() int64
	logf  func(string, ...any)

	mu         sync.Mutex
	faults     []check.Fault
	counts     map[string]int
	nextID     int // the next client id of a step's own clients
	holderRuns []HolderRestart
	staleRuns  []StaleRestart
	reconfRuns []ReconfigRun
	violations []check.Violation // what the steps themselves found wrong
}

// newNemesis makes the nemesis; the clients its steps run get ids from
// firstID on.
func newNemesis(c *Cluster, seed int64, rec *recorder, firstID int) *nemesis {
	return &nemesis{c: c, rng: rand.New(rand.NewSource(seed)), rec: rec, reg: newRegClient(c.registerAddr()),
		clock: rec.now, logf: c.cfg.Logf, counts: make(map[string]int), nextID: firstID}
}

// scheduled are the kinds the nemesis runs on a fixed cadence rather than
// by draw, so that every pass has them: the holder restart every third
// step from the first, the stale-copy restart every sixth from the fifth,
// the voter change every sixth from the third.
var scheduled = map[string]func(step int) bool{
	FaultRestartHolder: func(i int) bool { return i%3 == 0 },
	FaultStaleDir:      func(i int) bool { return i%6 == 4 },
	FaultReconfig:      func(i int) bool { return i%6 == 2 },
}

// pick returns the kind of fault of step i: a scheduled kind if one is due
// and enabled, else a draw among the enabled kinds that are not scheduled
// (among all enabled kinds if only scheduled ones are).
func (n *nemesis) pick(i int) string {
	var pool []string
	for _, k := range n.c.cfg.Faults {
		if due, ok := scheduled[k]; ok {
			if due(i) {
				return k
			}
			continue
		}
		pool = append(pool, k)
	}
	if len(pool) == 0 {
		pool = n.c.cfg.Faults
	}
	return pool[n.rng.Intn(len(pool))]
}

// between draws a duration uniformly from [lo, hi).
func (n *nemesis) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(n.rng.Int63n(int64(hi-lo)))
}

// pause waits d or until ctx ends; it reports whether the whole d passed.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// run injects faults until d has passed or ctx ends, then heals everything.
func (n *nemesis) run(ctx context.Context, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var errs []error
	for step := 0; ; step++ {
		if !pause(ctx, n.between(time.Second, 3*time.Second)) {
			break
		}
		kind := n.pick(step)
		start := n.clock()
		detail, hold, heal, err := n.apply(ctx, kind)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", kind, err))
		}
		n.logf("nemesis: %s %s for %v", kind, detail, hold.Round(time.Millisecond))
		pause(ctx, hold) // heal even if the run is over
		if heal != nil {
			if err := heal(); err != nil {
				errs = append(errs, fmt.Errorf("heal %s: %w", kind, err))
			}
		}
		n.record(check.Fault{Kind: kind, Detail: detail, Start: start, End: n.clock()})
		if ctx.Err() != nil {
			break
		}
	}
	if err := n.c.healAll(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// record adds f to the log and the counts.
func (n *nemesis) record(f check.Fault) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.faults = append(n.faults, f)
	n.counts[f.Kind]++
}

// apply starts one fault and returns what it hit, how long to hold it, and
// how to heal it (nil: nothing to undo). The steps with clients of their
// own (restart-holder, stale-restart) run to their end inside apply; ctx
// bounds only their waits, so that a step started is finished.
func (n *nemesis) apply(ctx context.Context, kind string) (detail string, hold time.Duration, heal func() error, err error) {
	c := n.c
	ttl := c.cfg.TTL
	hosts := func(as []*agentNode) []*netns.Host {
		var hs []*netns.Host
		for _, a := range as {
			hs = append(hs, a.host)
		}
		return hs
	}
	switch kind {
	case FaultPartition:
		perm := n.shuffled()
		cut := 1 + n.rng.Intn(len(perm)-1)
		hold = n.between(2*ttl, 5*ttl)
		return names(perm[:cut]) + " | " + names(perm[cut:]), hold, c.lab.Heal,
			c.lab.Partition(hosts(perm[:cut]), hosts(perm[cut:]))
	case FaultOneWay:
		perm := n.shuffled()
		k := 1 + n.rng.Intn(2)
		var parts []string
		for i := 0; i < k; i++ {
			from, to := perm[2*i], perm[2*i+1]
			parts = append(parts, from.spec.Name+" -/-> "+to.spec.Name)
			err = errors.Join(err, c.lab.Block(from.host, to.host))
		}
		return strings.Join(parts, ", "), n.between(2*ttl, 5*ttl), c.lab.Heal, err
	case FaultLoss:
		pct := 10 + n.rng.Intn(31)
		for _, a := range c.agents {
			err = errors.Join(err, c.lab.Loss(a.host, pct))
		}
		return fmt.Sprintf("%d%% at every agent", pct), n.between(2*ttl, 5*ttl), c.lab.Heal, err
	case FaultKill, FaultKillNoDir:
		victims := n.shuffled()[:1]
		ephemeral := kind == FaultKillNoDir && !c.anyEphemeral()
		if kind == FaultKill && n.rng.Intn(3) == 0 {
			victims = n.shuffled()[:2] // two at once: possibly a voter majority
		}
		for _, a := range victims {
			err = errors.Join(err, a.current().kill())
		}
		detail = names(victims)
		if ephemeral {
			detail += " (restarted without data dir)"
		}
		return detail, n.between(ttl/4, 2*ttl), func() error {
			var errs []error
			for _, a := range victims {
				errs = append(errs, c.startAgent(a, ephemeral))
			}
			return errors.Join(errs...)
		}, err
	case FaultPause:
		a := n.shuffled()[0]
		// Up to three TTLs: well past the tenure of a holder behind it.
		return a.spec.Name, n.between(ttl/4, 3*ttl), a.current().resume, a.current().pause()
	case FaultRestart:
		a := n.shuffled()[0]
		clean := a.current().term(10 * time.Second)
		detail = a.spec.Name
		if !clean {
			detail += " (did not stop in 10s: killed)"
		}
		return detail, 0, nil, c.startAgent(a, false)
	case FaultRegister:
		return "register", n.between(ttl/10, ttl), c.startRegister, c.crashRegister()
	case FaultRestartHolder:
		detail, err = n.restartHolder(context.WithoutCancel(ctx))
		return detail, 0, nil, err
	case FaultStaleDir:
		detail, err = n.staleRestart(context.WithoutCancel(ctx))
		return detail, 0, nil, err
	case FaultReconfig:
		detail, err = n.reconfigure(context.WithoutCancel(ctx))
		return detail, 0, nil, err
	}
	return "", 0, nil, fmt.Errorf("chaos: unknown fault %q", kind)
}

// shuffled returns the agents in a random order.
func (n *nemesis) shuffled() []*agentNode {
	as := append([]*agentNode(nil), n.c.agents...)
	n.rng.Shuffle(len(as), func(i, j int) { as[i], as[j] = as[j], as[i] })
	return as
}

// names lists the agents' names.
func names(as []*agentNode) string {
	var s []string
	for _, a := range as {
		s = append(s, a.spec.Name)
	}
	return strings.Join(s, " ")
}

// anyEphemeral reports whether some agent runs without its data dir.
func (c *Cluster) anyEphemeral() bool {
	for _, a := range c.agents {
		a.mu.Lock()
		e := a.ephemeral
		a.mu.Unlock()
		if e {
			return true
		}
	}
	return false
}

// healAll ends every fault: rules flushed, paused processes continued,
// exited agents and register started again.
func (c *Cluster) healAll() error {
	errs := []error{c.lab.Heal()}
	for _, a := range c.agents {
		p := a.current()
		if p.exited() {
			errs = append(errs, c.startAgent(a, false))
		} else {
			errs = append(errs, p.resume())
		}
	}
	c.regMu.Lock()
	dead := c.reg.exited()
	c.regMu.Unlock()
	if dead {
		errs = append(errs, c.startRegister())
	}
	return errors.Join(errs...)
}

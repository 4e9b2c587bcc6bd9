package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenure-dev/tenure/chaos/check"
	"github.com/tenure-dev/tenure/chaos/netns"
)

// Result is what a run produced.
type Result struct {
	// History is the recorded history, final reads included.
	History *check.History
	// Report is the checks' verdict.
	Report *check.Report
	// Figures is the summary.
	Figures Figures
	// HolderRestarts and StaleRestarts are the runs of the nemesis's
	// scheduled steps.
	HolderRestarts []HolderRestart
	StaleRestarts  []StaleRestart
	// ReconfigRuns are the runs of the voter-change step.
	ReconfigRuns []ReconfigRun
}

// OK reports whether every check passed.
func (r *Result) OK() bool { return r.Report != nil && r.Report.OK() }

// Run builds the cluster, runs clients and nemesis for cfg.Duration, cuts
// the history, restarts the register, reads every key, checks, and removes
// everything it made. On a violation it writes history.json,
// violations.txt and linearizability.html into cfg.Dir. The error reports a
// harness failure (the cluster could not be built or never became
// healthy), not a violation: those are in the Result.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if removed, err := netns.Sweep(false); err != nil {
		cfg.Logf("sweep of leftovers: %v", err)
	} else if len(removed) > 0 {
		cfg.Logf("removed leftovers of dead runs: %v", removed)
	}
	c, err := newCluster(cfg)
	defer func() {
		if c == nil {
			return
		}
		if cerr := c.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("chaos: cleanup: %w", cerr))
		}
	}()
	if err != nil {
		return nil, err
	}
	if err := c.startRegister(); err != nil {
		return nil, err
	}
	// The seed first, then the others, which join it: every first start
	// succeeds, so each agent's only start with --new-cluster is the one
	// that made its data dir.
	for i, a := range c.agents {
		if err := c.startAgent(a, false); err != nil {
			return nil, err
		}
		if i == 0 {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			up := waitAgent(sctx, a.spec.HTTP)
			cancel()
			if !up {
				return nil, fmt.Errorf("chaos: the first agent %s did not come up in 30s (log in %s)", a.spec.Name, a.logPath(cfg.Dir))
			}
		}
	}
	hctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = c.waitHealthy(hctx)
	cancel()
	if err != nil {
		return nil, err
	}
	cfg.Logf("cluster up: %d agents, register at %s, lab %s", len(c.agents), c.registerAddr(), c.lab.Prefix())

	rec := &recorder{origin: time.Now()}
	var zombies atomic.Int64
	cctx, stopClients := context.WithCancel(ctx)
	defer stopClients()
	var wg sync.WaitGroup
	for i, a := range c.agents {
		for k := range cfg.Keys {
			id := i*cfg.Keys + k
			cl := &client{
				id: id, agent: a, key: fmt.Sprintf("k%d", k), ttl: cfg.TTL, zombie: cfg.ZombieRate,
				rng: rand.New(rand.NewSource(cfg.Seed*1000003 + int64(id))),
				reg: newRegClient(c.registerAddr()), rec: rec, zombies: &zombies,
			}
			wg.Add(1)
			go func() { defer wg.Done(); cl.run(cctx) }()
		}
	}

	// Quiet start, the nemesis, then a quiet end long enough for a
	// quarantined voter to come back, so the figures show recovery.
	pause(ctx, 2*time.Second)
	finalClient := len(c.agents) * cfg.Keys
	nem := newNemesis(c, cfg.Seed, rec, finalClient+1)
	nemStart := time.Now()
	if err := nem.run(ctx, cfg.Duration); err != nil {
		cfg.Logf("nemesis: %v", err) // a fault that could not be applied is logged, not fatal
	}
	nemTime := time.Since(nemStart)
	hctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	if err := c.waitHealthy(hctx); err != nil {
		cfg.Logf("after the nemesis: %v", err)
	}
	cancel()
	pause(ctx, 3*cfg.TTL)
	stopClients()
	wg.Wait()

	// Cut: nothing a client sent can land after the register dies.
	h := &check.History{Seed: cfg.Seed, Cut: rec.now(), Faults: nem.faults}
	if err := c.crashRegister(); err != nil {
		return nil, err
	}
	if err := c.startRegister(); err != nil {
		return nil, err
	}
	reg := newRegClient(c.registerAddr())
	var keys []string
	for k := range cfg.Keys {
		keys = append(keys, fmt.Sprintf("k%d", k))
	}
	if enabled(cfg, FaultRestartHolder) {
		keys = append(keys, HolderKey)
	}
	for _, key := range keys {
		op, err := finalRead(ctx, reg, rec, finalClient, key)
		if err != nil {
			return nil, fmt.Errorf("chaos: final read of %s after the register restart: %w", key, err)
		}
		rec.add(op)
	}
	h.Ops = rec.snapshot()

	report := check.Run(h, 2*time.Minute)
	nem.mu.Lock()
	report.Violations = append(report.Violations, nem.violations...)
	sort.SliceStable(report.Violations, func(i, j int) bool { return report.Violations[i].Check < report.Violations[j].Check })
	res = &Result{History: h, Report: report, HolderRestarts: nem.holderRuns, StaleRestarts: nem.staleRuns, ReconfigRuns: nem.reconfRuns}
	res.Figures = figures(cfg, h, report, nem.counts, zombies.Load(), nemTime)
	nem.mu.Unlock()
	res.Figures = append(res.Figures, stepFigures(res)...)
	if !report.OK() {
		if err := report.WriteArtifacts(cfg.Dir, h); err != nil {
			cfg.Logf("writing artifacts: %v", err)
		}
	}
	return res, nil
}

// enabled reports whether the nemesis of cfg may run kind.
func enabled(cfg Config, kind string) bool {
	for _, k := range cfg.Faults {
		if k == kind {
			return true
		}
	}
	return false
}

// finalRead reads key from the restarted register, retrying until it
// answers (it may still be starting) for up to 30 s.
func finalRead(ctx context.Context, reg *regClient, rec *recorder, client int, key string) (check.Op, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		op := check.Op{Client: client, Kind: check.Read, Key: key, Final: true, Start: rec.now()}
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		v, tok, err := reg.get(rctx, key)
		rcancel()
		if err == nil {
			op.End, op.Outcome, op.Value, op.Token = rec.now(), check.Ok, v, tok
			return op, nil
		}
		if !pause(ctx, 100*time.Millisecond) {
			return op, err
		}
	}
}

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/sim"
)

func init() {
	register("sim", "simulate a cluster under faults and check the lease invariants", runSim)
}

// delayFlag parses MIN-MAX, e.g. 1ms-30ms.
type delayFlag struct{ min, max time.Duration }

func (d *delayFlag) String() string { return d.min.String() + "-" + d.max.String() }

func (d *delayFlag) Set(v string) error {
	lo, hi, ok := strings.Cut(v, "-")
	if !ok {
		return errors.New("want MIN-MAX, e.g. 1ms-30ms")
	}
	a, err := time.ParseDuration(lo)
	if err != nil {
		return err
	}
	b, err := time.ParseDuration(hi)
	if err != nil {
		return err
	}
	if a < 0 || b < a {
		return errors.New("want 0 <= MIN <= MAX")
	}
	d.min, d.max = a, b
	return nil
}

// simOpts are the parsed flags of `tenure sim`; keep the flag names:
// scripts and replay commands use them.
type simOpts struct {
	seed         uint64
	seeds        int
	nodes        int
	clients      int
	leases       int
	slots        int
	duration     time.Duration
	ttl          time.Duration
	drift        float64
	assumedDrift float64
	faults       string
	loss, dup    float64
	tail         float64
	delay        delayFlag
	rates        []float64 // one per sim.FaultKinds(), in its order
	quarantine   time.Duration
	margin       time.Duration
	noEra        bool
	oldVoters    int
	switched     int
	lowMaxTTL    time.Duration
	noDisk       bool
	wipeFresh    bool
	wipeAdded    bool
	zombies      bool
	agents       int
	edgeClients  int
	edgeDelay    delayFlag
	holdShare    float64
	jsonOut      bool
	timeline     string
	trace        string
	workers      int
	cells        simCellsOpts // --cells, --lose-cell, --lose-at (sim_cells.go)
}

func newSimFlags(f *simOpts) *cmdFlags {
	d := sim.DefaultOptions()
	fs := newCmdFlags("sim", "tenure sim [flags]", simAbout)
	fs.Uint64Var(&f.seed, "seed", d.Seed, "seed of the run (the first one with --seeds)")
	fs.IntVar(&f.seeds, "seeds", 1, "sweep this many seeds from --seed, in parallel")
	fs.IntVar(&f.nodes, "nodes", d.Voters, "voters (acceptor nodes)")
	fs.IntVar(&f.clients, "clients", d.Clients, "extra non-voter nodes running clients")
	fs.IntVar(&f.leases, "leases", d.Leases, "lease names")
	fs.IntVar(&f.slots, "slots", d.Slots, "clients per node, each taking a random lease name per tenure (0: one client per lease name on every node)")
	fs.DurationVar(&f.duration, "duration", d.Duration, "simulated time with faults (a quiet phase follows)")
	fs.DurationVar(&f.ttl, "ttl", d.TTL, "lease TTL")
	fs.Float64Var(&f.drift, "drift", d.Drift, "real bound on the clocks' rate error")
	fs.Float64Var(&f.assumedDrift, "assumed-drift", d.AssumedDrift, "drift the protocol is configured to assume (default: --drift)")
	fs.StringVar(&f.faults, "faults", "mild", "fault preset: none, mild or harsh")
	fs.Float64Var(&f.loss, "loss", 0, "datagram loss probability (default: the preset's)")
	fs.Float64Var(&f.dup, "dup", 0, "datagram duplication probability (default: the preset's)")
	fs.Float64Var(&f.tail, "tail", 0, "probability of a very late datagram (default: the preset's)")
	f.delay = delayFlag{d.Faults.DelayMin, d.Faults.DelayMax}
	fs.Var(&f.delay, "delay", "one-way delay range MIN-MAX, e.g. 1ms-30ms (default: the preset's)")
	// One rate flag per fault kind: a preset's kind defaults to 0 (the
	// preset's rate), any other to its DefaultOptions value.
	kinds := sim.FaultKinds()
	f.rates = make([]float64, len(kinds))
	for i, k := range kinds {
		def := 0.0
		if k.Preset == nil {
			def = *k.Rate(&d)
		}
		fs.Float64Var(&f.rates[i], k.Flag, def, k.Usage)
	}
	fs.DurationVar(&f.quarantine, "quarantine", 0, "override the computed quarantine (0: none at all, unsafe)")
	fs.DurationVar(&f.margin, "margin", d.Margin, "the protocol's operation margin m")
	fs.BoolVar(&f.noEra, "no-era", false, "restart crashed nodes without their durable era floor (unsafe)")
	fs.IntVar(&f.oldVoters, "old-voters", 0, "operator: a rolling change of the voter list from n1..nK to all voters, frozen half way (K; 0: off)")
	fs.IntVar(&f.switched, "switched", 0, "operator: how many of the --old-voters already run the new list")
	fs.DurationVar(&f.lowMaxTTL, "low-max-ttl", 0, "operator: lower MaxTTL to this a third into the run, for every later start (0: off)")
	fs.BoolVar(&f.noDisk, "no-disk-clients", false, "operator: client nodes run without a data dir and restart within the second")
	fs.BoolVar(&f.wipeFresh, "wipe-fresh", false, "operator: a wiped voter starts as a new cluster (fresh) instead of crashed from era 0")
	fs.BoolVar(&f.wipeAdded, "wipe-added", false, "operator: restores and wipes touch voters added by --reconfigs too, not only the configured voters")
	fs.BoolVar(&f.zombies, "zombies", false, "operator: datagrams in flight from and to a stopped node reach its next incarnation")
	fs.IntVar(&f.agents, "agents", 0, "edge: the last N nodes run a tenure agent instead of embedded clients")
	fs.IntVar(&f.edgeClients, "edge-clients", 0, "edge: HTTP clients holding through the agents, each on its own host and clock")
	f.edgeDelay = delayFlag{d.Edge.DelayMin, d.Edge.DelayMax}
	fs.Var(&f.edgeDelay, "edge-delay", "edge: client-agent one-way delay range MIN-MAX")
	fs.Float64Var(&f.holdShare, "hold-share", d.Edge.HoldShare, "edge: fraction of tenures kept by a hold stream instead of keepalives")
	fs.BoolVar(&f.jsonOut, "json", false, "print the report as one JSON object")
	fs.StringVar(&f.timeline, "timeline", "", "write an HTML timeline of the run (the first violating seed of a sweep) to FILE")
	fs.StringVar(&f.trace, "trace", "", "write the text trace of the run (the first seed) to FILE")
	fs.IntVar(&f.workers, "workers", 0, "parallel runs of a sweep (default: one per CPU)")
	f.cells.flags(fs)
	return fs
}

const simAbout = `
Simulate a cluster running the real protocol under a faulty network,
drifting clocks, crashes and pauses; check that no two nodes ever hold a
lease at once, that fencing tokens rise, and that leases are granted again
once faults stop. Exit status: 0 no violation, 1 violation, 2 bad usage.

Operator mistakes (each guarded by a rule; the run must stay clean):
  --old-voters 3               voter lists n1..n3 and n1..n5 side by side (R17)
  --low-max-ttl 250ms          MaxTTL lowered across crashes (R19)
  --no-disk-clients            client nodes without a data dir restart in the same second (R20)
  --restores 6                 voters restarted from stale copies of their data dirs (R18)
  --wipes 2 [--wipe-fresh]     voters restarted with empty data dirs (R18)
  --zombies                    a node's old datagrams meet its next incarnation (R20)
  --wipe-added                 with --reconfigs: restores and wipes touch voters added online too

  A node refuses to start while a live member it reaches runs another voter
  list, as the node layer does. Restores and wipes stay within what any
  guard can repair: a stale voter finds out, and learns the era, from a
  voter that knows the newer state. So a voter is restored or wiped only
  while another voter that knows the newer state is up and reachable from
  it; until the stale voter has sat out its quarantine no crash, pause,
  partition or stop takes the last such voter away from it; and no voter is
  restored while another is still stale if voters that do not know the
  newer state would then be a majority. Restoring the data dirs of a
  majority of voters while the others are unreachable cannot be repaired,
  like losing the disks of a majority of Paxos acceptors.

The edge (clients that hold through an agent, judged by their own deadlines):
  --agents 2 --edge-clients 6  agents on the last 2 nodes, 6 HTTP clients
  --agent-stops 4              agents stopped and restarted under their clients (R15)

A sweep (--seeds N) shows its progress on stderr when stderr is a
terminal: seeds done, simulated events per second, and the time left.`

// options turns the parsed flags into simulator options: the preset first,
// then every flag given explicitly (on the command line or in the
// environment).
func (f *simOpts) options(fs *cmdFlags) (sim.Options, error) {
	o := sim.DefaultOptions()
	preset, err := sim.ParseFaultPreset(f.faults)
	if err != nil {
		return o, err
	}
	o.Faults = sim.Preset(preset)
	o.Seed = f.seed
	o.Voters, o.Clients, o.Leases, o.Slots = f.nodes, f.clients, f.leases, f.slots
	o.Duration, o.TTL, o.Drift, o.Margin = f.duration, f.ttl, f.drift, f.margin
	o.AssumedDrift = f.drift
	o.NoEra = f.noEra
	o.Operator = sim.Operator{OldVoters: f.oldVoters, Switched: f.switched, LowMaxTTL: f.lowMaxTTL,
		NoDiskClients: f.noDisk, WipeFresh: f.wipeFresh, WipeAdded: f.wipeAdded, Zombies: f.zombies}
	o.Edge.Agents, o.Edge.Clients = f.agents, f.edgeClients
	o.Edge.DelayMin, o.Edge.DelayMax = f.edgeDelay.min, f.edgeDelay.max
	o.Edge.HoldShare = f.holdShare
	set := fs.given()
	if set["assumed-drift"] {
		o.AssumedDrift = f.assumedDrift
	}
	if set["loss"] {
		o.Faults.Loss = f.loss
	}
	if set["dup"] {
		o.Faults.Dup = f.dup
	}
	if set["tail"] {
		o.Faults.Tail = f.tail
	}
	if set["delay"] {
		o.Faults.DelayMin, o.Faults.DelayMax = f.delay.min, f.delay.max
	}
	for i, k := range sim.FaultKinds() {
		if set[k.Flag] {
			*k.Rate(&o) = f.rates[i]
		}
	}
	if set["quarantine"] {
		if f.quarantine < 0 {
			return o, fmt.Errorf("%w: quarantine %v is negative", sim.ErrOptions, f.quarantine)
		}
		o.QuarantineMode, o.Quarantine = sim.QuarantineNone, 0
		if f.quarantine > 0 {
			o.QuarantineMode, o.Quarantine = sim.QuarantineFixed, f.quarantine
		}
	}
	if f.seeds < 1 {
		return o, fmt.Errorf("%w: seeds %d: want at least 1", sim.ErrOptions, f.seeds)
	}
	return o, o.Validate()
}

// simReplay is the command that reruns one seed with the options of fs:
// every flag given explicitly (on the command line or in the environment),
// except those that choose seeds or outputs.
func simReplay(fs *cmdFlags, seed uint64) string {
	parts := []string{"go run ./cmd/tenure sim --seed", fmt.Sprint(seed)}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "seed", "seeds", "json", "timeline", "trace", "workers":
			return
		}
		if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if fl.Value.String() == "true" {
				parts = append(parts, "--"+fl.Name)
			}
			return
		}
		parts = append(parts, "--"+fl.Name, fl.Value.String())
	})
	return strings.Join(parts, " ")
}

func runSim(args []string, stdout, stderr io.Writer) int {
	var o simOpts
	f := newSimFlags(&o)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.NArg() > 0 {
		return f.fail(stderr, "unexpected argument %q (flags only)", f.Arg(0))
	}
	opts, err := o.options(f)
	if err != nil {
		return f.fail(stderr, "%v", err)
	}
	if o.cells.count > 0 {
		return runSimCells(f, &o, opts, stdout, stderr)
	}
	if o.trace != "" {
		if err := writeTrace(o.trace, opts); err != nil {
			return f.fail(stderr, "--trace %s: %v", o.trace, err)
		}
	}
	if os.Getenv("GOGC") == "" {
		// The protocol allocates about three small objects per simulated
		// event and the live heap stays small: collect less often.
		debug.SetGCPercent(400)
	}
	var progress func(done int, events uint64)
	var bar *sweepProgress
	if o.seeds > 1 && isTerminal(stderr) {
		bar = newSweepProgress(stderr, o.seeds, time.Now)
		progress = bar.update
	}
	sum, err := sim.Sweep(opts, o.seeds, o.workers, progress)
	bar.end()
	if err != nil { // options validated them: not expected
		return f.fail(stderr, "%v", err)
	}
	for _, v := range sum.Violations {
		v.Replay = simReplay(f, v.Seed)
	}
	if o.timeline != "" {
		seed := opts.Seed
		if len(sum.Violations) > 0 {
			seed = sum.Violations[0].Seed
		}
		if err := writeTimeline(o.timeline, opts, seed, simReplay(f, seed)); err != nil {
			return f.fail(stderr, "--timeline %s: %v", o.timeline, err)
		}
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			// Not 1: that status means a violation was found.
			fmt.Fprintf(stderr, "tenure sim: %v\n", err)
			return exitUsage
		}
	} else {
		printSummary(stdout, &o, opts, sum)
	}
	if len(sum.Violations) > 0 {
		return exitFail
	}
	return exitOK
}

func writeTrace(path string, opts sim.Options) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	s, err := sim.New(opts, file)
	if err != nil {
		file.Close()
		return err
	}
	s.RunToEnd()
	return file.Close()
}

func writeTimeline(path string, opts sim.Options, seed uint64, replay string) error {
	opts.Seed = seed
	opts.RecordTimeline = true
	r, err := sim.Run(opts)
	if err != nil {
		return err
	}
	if r.Violation != nil {
		r.Violation.Replay = replay
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := sim.WriteTimelineHTML(file, r, opts); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

func printSummary(w io.Writer, f *simOpts, o sim.Options, s *sim.Summary) {
	seeds := fmt.Sprintf("seed %d", s.FirstSeed)
	if f.seeds > 1 {
		seeds = fmt.Sprintf("seeds %d..%d (%d of %d run)", s.FirstSeed, s.FirstSeed+uint64(s.Seeds)-1, s.Seeds, f.seeds)
	}
	fmt.Fprintf(w, "tenure sim: %s; %d voters + %d clients, %d leases, %v of faults (%s) + quiet phase, ttl %v, drift %g (assumed %g)\n\n",
		seeds, o.Voters, o.Clients, o.Leases, o.Duration, f.faults, o.TTL, o.Drift, o.AssumedDrift)
	result := "OK, no violation"
	if len(s.Violations) > 0 {
		result = "VIOLATION (" + string(s.Violations[0].Kind) + ")"
	}
	row := func(k, v string, a ...any) { fmt.Fprintf(w, "  %-18s %s\n", k, fmt.Sprintf(v, a...)) }
	row("result", "%s", result)
	row("grants", "%d", s.Grants)
	row("max holders", "%d at one instant", s.MaxConcurrentHolders)
	row("availability", "%.1f%%", 100*s.Availability)
	row("failover p50/p99", "%.0f ms / %.0f ms (%d crashes of a holder)", s.FailoverP50Ms, s.FailoverP99Ms, s.Failovers)
	row("messages/grant", "%.1f", s.MessagesPerGrant)
	row("fenced writes", "%d accepted, %d rejected as stale", s.Writes, s.WritesRejected)
	if op := s.Operator; op != (sim.OperatorStats{}) {
		row("operator", "%d stale restores, %d wipes, %d starts refused (another voter list); %d faults held back by the restore limit",
			op.Restores, op.Wipes, op.StartRefusals, op.HeldBack)
	}
	if rc := s.Reconfig; rc != (sim.ReconfigStats{}) {
		row("voter changes", "%d started: %d done, %d lost to another change, %d without a majority in time, %d initiators crashed part way; %d refused at once; highest epoch %d",
			rc.Started, rc.Done, rc.Changed, rc.NoQuorum, rc.Interrupted, rc.Refused, rc.Epoch)
	}
	row("events", "%d in %.2fs wall (%.2f M events/s), %.0f s simulated", s.Events, s.WallSeconds, s.EventsPerSec/1e6, s.SimSeconds)
	row("trace digest", "%s", s.TraceDigest)
	for _, v := range s.Violations {
		fmt.Fprintf(w, "\nVIOLATION %s: lease %s, nodes %s, true time %s, seed %d\n  %s\n\nLast events:\n",
			v.Kind, v.Lease, strings.Join(v.Nodes, ","), v.At, v.Seed, v.Detail)
		for _, l := range v.Last {
			fmt.Fprintf(w, "  %s\n", l)
		}
		fmt.Fprintf(w, "\nReplay: %s\n", v.Replay)
	}
}

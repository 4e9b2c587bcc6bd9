package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/bench/benchutil"
	"github.com/tenure-dev/tenure/bench/tenurebench"
	"github.com/tenure-dev/tenure/node"
)

func init() {
	register("bench", "measure a three-voter cluster on loopback (latency and throughput by concurrency, failover, held leases)", runBench)
}

const benchAbout = `
Starts three voter agents as child processes of this binary on loopback
(free ports, temporary data dirs), embeds a non-voter node as the client,
and runs these phases (--phases):

  curve     at each concurrency of --workers, that many workers loop
            acquire-then-release for --duration, each on a name of its own,
            all through the client node: acquire p50/p99 and cycles/s
  failover  a holder process (TTL --failover-ttl) is killed with SIGKILL;
            kill to the blocked waiter's grant, --failover-runs times
  hold      a fresh node takes --leases leases (TTL --hold-ttl; each count
            adds to the previous), and at each count: datagrams/s to each
            voter, its CPU in % of one core, heap per lease, over --window
  sim       the deterministic simulator's events per second

--json prints one JSON object (the shape bench/compare.sh reads);
--quick is a smoke run of a few seconds. bench/compare.sh runs the same
workloads against etcd and writes bench/RESULTS.md.
'tenure bench holder' is the failover holder process (internal).`

// intList is a flag of comma-separated positive integers: --workers 1,8,32.
type intList []int

func (l *intList) String() string { return benchutil.FormatInts(*l) }

// Set implements flag.Value; it replaces the list (a default is not
// appended to).
func (l *intList) Set(v string) error {
	xs, err := benchutil.ParseInts(v)
	if err != nil {
		return err
	}
	*l = xs
	return nil
}

// benchOpts are the parsed flags of tenure bench.
type benchOpts struct {
	asJSON, quick        bool
	cpuProfile, phases   string
	heapProfile          string
	workers, leases      intList
	duration             time.Duration
	failoverRuns         int
	failoverTTL, holdTTL time.Duration
	window               time.Duration
	seed                 uint64
}

func newBenchFlags(o *benchOpts) *cmdFlags {
	d := tenurebench.DefaultConfig()
	o.workers, o.leases = d.Workers, d.Leases
	f := newCmdFlags("bench", "tenure bench [--json] [--quick] [flags]", benchAbout)
	f.BoolVar(&o.asJSON, "json", false, "print the result as one JSON object")
	f.BoolVar(&o.quick, "quick", false, "smoke run: short windows, few leases (flags given explicitly still win)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process to `file`")
	f.StringVar(&o.heapProfile, "heapprofile", "", "write a heap profile to `file` once the hold phase holds its most leases")
	f.StringVar(&o.phases, "phases", strings.Join(tenurebench.AllPhases, ","), "phases to run, comma-separated")
	f.Var(&o.workers, "workers", "concurrency levels of the curve phase, comma-separated")
	f.DurationVar(&o.duration, "duration", d.Duration, "window of each concurrency level")
	f.IntVar(&o.failoverRuns, "failover-runs", d.FailoverRuns, "holder processes killed in the failover phase")
	f.DurationVar(&o.failoverTTL, "failover-ttl", d.FailoverTTL, "TTL of the failover holder's lease")
	f.Var(&o.leases, "leases", "counts of leases held in the hold phase, ascending, comma-separated")
	f.DurationVar(&o.holdTTL, "hold-ttl", d.HoldTTL, "TTL of the leases held in the hold phase")
	f.DurationVar(&o.window, "window", d.Window, "measurement window at each count of held leases (a multiple of --hold-ttl/2)")
	f.Uint64Var(&o.seed, "seed", d.Seed, "seed of the failover kill instants")
	return f
}

// config turns the flags into a run configuration: --quick's values for
// every flag not given explicitly (on the command line or in the
// environment).
func (o *benchOpts) config(f *cmdFlags) tenurebench.Config {
	cfg := tenurebench.DefaultConfig()
	if o.quick {
		cfg = tenurebench.QuickConfig()
	}
	set := f.given()
	if set["workers"] {
		cfg.Workers = slices.Clone(o.workers)
	}
	if set["leases"] {
		cfg.Leases = slices.Clone(o.leases)
	}
	pickD := func(name string, dst *time.Duration, v time.Duration) {
		if set[name] {
			*dst = v
		}
	}
	pickD("duration", &cfg.Duration, o.duration)
	pickD("failover-ttl", &cfg.FailoverTTL, o.failoverTTL)
	pickD("hold-ttl", &cfg.HoldTTL, o.holdTTL)
	pickD("window", &cfg.Window, o.window)
	if set["failover-runs"] {
		cfg.FailoverRuns = o.failoverRuns
	}
	cfg.Seed = o.seed
	cfg.HeapProfile = o.heapProfile
	cfg.Phases = nil
	_ = (*stringList)(&cfg.Phases).Set(o.phases)
	return cfg
}

// check refuses values that cannot make a run; errors name the flag.
func (o *benchOpts) check(cfg tenurebench.Config) error {
	if err := cfg.Workload.Check(); err != nil {
		return err
	}
	if len(cfg.Phases) == 0 {
		return fmt.Errorf("--phases is empty")
	}
	for _, p := range cfg.Phases {
		if !slices.Contains(tenurebench.AllPhases, p) {
			return fmt.Errorf("--phases: unknown phase %q (want some of %s)", p, strings.Join(tenurebench.AllPhases, ","))
		}
	}
	return nil
}

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "holder" {
		return runBenchHolder(args[1:], stdout, stderr)
	}
	var o benchOpts
	f := newBenchFlags(&o)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.NArg() > 0 {
		return f.fail(stderr, "unexpected argument %q", f.Arg(0))
	}
	cfg := o.config(f)
	if err := o.check(cfg); err != nil {
		return f.fail(stderr, "%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "tenure bench: cannot find this binary: %v\n", err)
		return exitFail
	}
	cfg.Binary = exe
	cfg.Log = stderr
	if o.cpuProfile != "" {
		pf, err := os.Create(o.cpuProfile)
		if err != nil {
			return f.fail(stderr, "--cpuprofile: %v", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return f.fail(stderr, "--cpuprofile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := tenurebench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tenure bench: %v\n", err)
		return exitFail
	}
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "tenure bench: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	printBench(stdout, res)
	return exitOK
}

// printBench prints the figures as small tables for people.
func printBench(w io.Writer, r *tenurebench.Result) {
	quick := ""
	if r.Quick {
		quick = " --quick (figures mean little)"
	}
	fmt.Fprintf(w, "tenure bench (%d CPU, %s, %s)%s\n", r.Machine.NumCPU, r.Machine.CPUModel, r.Machine.GoVersion, quick)
	if len(r.Curve) > 0 {
		fmt.Fprintf(w, "\n  %7s %12s %12s %12s\n", "workers", "p50 µs", "p99 µs", "cycles/s")
		for _, p := range r.Curve {
			fmt.Fprintf(w, "  %7d %12.0f %12.0f %12.0f\n", p.Workers, p.AcquireP50us, p.AcquireP99us, p.ThroughputPerS)
		}
	}
	if f := r.Failover; f != nil {
		fmt.Fprintf(w, "\n  failover at TTL %.0fms: worst %.0fms, median %.0fms (runs %v; bound TTL·(1+2ε)+100ms = %.0fms)\n",
			f.TTLMs, f.WorstMs, f.MedianMs, f.RunsMs, f.TTLMs*(1+2*f.MaxDrift)+100)
	}
	if len(r.Hold) > 0 {
		fmt.Fprintf(w, "\n  %8s %8s %10s %16s %12s %10s\n", "leases", "TTL ms", "CPU %", "datagrams/s/voter", "heap B/lease", "voter CPU %")
		for _, p := range r.Hold {
			fmt.Fprintf(w, "  %8d %8.0f %10.2f %16.1f %12.0f %10.2f\n", p.Leases, p.TTLMs, p.CPUPercent, p.PacketsPerSPerVoter, p.BytesPerLease, p.VoterCPUPercent)
		}
	}
	if r.SimEventsPerS > 0 {
		fmt.Fprintf(w, "\n  simulator: %.0f events/s\n", r.SimEventsPerS)
	}
}

// runBenchHolder is `tenure bench holder`: the failover holder process
// (tenurebench.RunHolder). Not for direct use.
func runBenchHolder(args []string, stdout, stderr io.Writer) int {
	var cfg tenurebench.HolderConfig
	var join, voters stringList
	f := newCmdFlags("bench holder", "tenure bench holder --name N --join A,B --voters X,Y,Z --lease NAME --ttl D",
		"Internal: the failover holder of tenure bench. Joins as a non-voter, holds one lease,\nprints \"held TOKEN\" and waits to be killed.")
	f.StringVar(&cfg.Name, "name", "", "this node's name")
	f.Var(&join, "join", "gossip `host:port` of the voters")
	f.Var(&voters, "voters", "the voter names")
	f.StringVar(&cfg.Lease, "lease", "", "the lease to hold")
	f.DurationVar(&cfg.TTL, "ttl", 2*time.Second, "its TTL")
	f.DurationVar(&cfg.MaxTTL, "max-ttl", node.DefaultMaxTTL, "the cluster's max TTL")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if cfg.Name == "" || cfg.Lease == "" || len(join) == 0 || len(voters) == 0 || f.NArg() > 0 {
		return f.fail(stderr, "--name, --lease, --join and --voters are required")
	}
	cfg.Join, cfg.Voters = join, voters
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := tenurebench.RunHolder(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "tenure bench holder: %v\n", err)
		return exitFail
	}
	return exitOK
}

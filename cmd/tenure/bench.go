package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/bench/tenurebench"
	"github.com/tenure-dev/tenure/node"
)

func init() {
	register("bench", "measure a three-voter cluster on loopback (latency, throughput, failover, renewals)", runBench)
}

const benchAbout = `
Starts three voter agents as child processes of this binary on loopback
(free ports, temporary data dirs), embeds a non-voter node as the client,
and measures:

  acquire_p50_us, acquire_p99_us  sequential acquire-then-release of one name
  throughput_per_s                --workers loops of acquire-then-release, own names
  failover_ms                     a holder process (TTL --failover-ttl) is killed with
                                  SIGKILL; kill to the blocked waiter's grant (worst run)
  renew_packets_per_s, cpu_percent, bytes_per_lease
                                  a node holding --leases leases (TTL --hold-ttl):
                                  datagrams to each voter per second, its CPU in %
                                  of one core, heap per lease, over --window

--json prints one JSON object (those keys and details); --quick is a smoke
run of a few seconds. bench/compare.sh runs the same workloads against etcd.
'tenure bench holder' is the failover holder process (internal).`

// benchOpts are the parsed flags of tenure bench.
type benchOpts struct {
	asJSON, quick        bool
	cpuProfile, phases   string
	heapProfile          string
	seq, workers         int
	duration             time.Duration
	failoverRuns, leases int
	failoverTTL, holdTTL time.Duration
	window               time.Duration
	seed                 uint64
}

func newBenchFlags(o *benchOpts) *cmdFlags {
	d := tenurebench.DefaultConfig()
	f := newCmdFlags("bench", "tenure bench [--json] [--quick] [flags]", benchAbout)
	f.BoolVar(&o.asJSON, "json", false, "print the result as one JSON object")
	f.BoolVar(&o.quick, "quick", false, "smoke run: few iterations, short windows, few leases (flags given explicitly still win)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process to `file`")
	f.StringVar(&o.heapProfile, "heapprofile", "", "write a heap profile to `file` once the renewal phase holds its leases")
	f.StringVar(&o.phases, "phases", strings.Join(tenurebench.AllPhases, ","), "phases to run, comma-separated")
	f.IntVar(&o.seq, "seq", d.Seq, "sequential acquire-release cycles for the latency percentiles")
	f.IntVar(&o.workers, "workers", d.Workers, "concurrent workers of the throughput phase")
	f.DurationVar(&o.duration, "duration", d.Duration, "length of the throughput phase")
	f.IntVar(&o.failoverRuns, "failover-runs", d.FailoverRuns, "holder processes killed in the failover phase")
	f.DurationVar(&o.failoverTTL, "failover-ttl", d.FailoverTTL, "TTL of the failover holder's lease")
	f.IntVar(&o.leases, "leases", d.Leases, "leases held in the renewal phase")
	f.DurationVar(&o.holdTTL, "hold-ttl", d.HoldTTL, "TTL of the leases held in the renewal phase")
	f.DurationVar(&o.window, "window", d.Window, "measurement window of the renewal phase")
	f.Uint64Var(&o.seed, "seed", d.Seed, "seed of the failover kill instants")
	return f
}

// config turns the flags into a run configuration: --quick's values for
// every flag not given explicitly.
func (o *benchOpts) config(f *cmdFlags) tenurebench.Config {
	cfg := tenurebench.DefaultConfig()
	if o.quick {
		cfg = tenurebench.QuickConfig()
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	pick := func(name string, dst *int, v int) {
		if set[name] {
			*dst = v
		}
	}
	pickD := func(name string, dst *time.Duration, v time.Duration) {
		if set[name] {
			*dst = v
		}
	}
	pick("seq", &cfg.Seq, o.seq)
	pick("workers", &cfg.Workers, o.workers)
	pickD("duration", &cfg.Duration, o.duration)
	pick("failover-runs", &cfg.FailoverRuns, o.failoverRuns)
	pickD("failover-ttl", &cfg.FailoverTTL, o.failoverTTL)
	pick("leases", &cfg.Leases, o.leases)
	pickD("hold-ttl", &cfg.HoldTTL, o.holdTTL)
	pickD("window", &cfg.Window, o.window)
	cfg.Seed = o.seed
	cfg.HeapProfile = o.heapProfile
	cfg.Phases = nil
	_ = (*stringList)(&cfg.Phases).Set(o.phases)
	return cfg
}

// check refuses values that cannot make a run; errors name the flag.
func (o *benchOpts) check(cfg tenurebench.Config) error {
	switch {
	case cfg.Seq < 1:
		return fmt.Errorf("--seq %d: want at least 1", cfg.Seq)
	case cfg.Workers < 1:
		return fmt.Errorf("--workers %d: want at least 1", cfg.Workers)
	case cfg.Duration <= 0 || cfg.Window <= 0:
		return fmt.Errorf("--duration %v and --window %v must be positive", cfg.Duration, cfg.Window)
	case cfg.FailoverRuns < 1:
		return fmt.Errorf("--failover-runs %d: want at least 1", cfg.FailoverRuns)
	case cfg.Leases < 1:
		return fmt.Errorf("--leases %d: want at least 1", cfg.Leases)
	case cfg.FailoverTTL < 50*time.Millisecond || cfg.HoldTTL < 50*time.Millisecond:
		return fmt.Errorf("--failover-ttl %v and --hold-ttl %v must be at least 50ms", cfg.FailoverTTL, cfg.HoldTTL)
	case len(cfg.Phases) == 0:
		return fmt.Errorf("--phases is empty")
	}
	for _, p := range cfg.Phases {
		known := false
		for _, q := range tenurebench.AllPhases {
			known = known || p == q
		}
		if !known {
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
		return 1
	}
	cfg.Binary = exe
	cfg.Log = stderr
	if o.cpuProfile != "" {
		pf, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "tenure bench: --cpuprofile: %v\n", err)
			return 1
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			fmt.Fprintf(stderr, "tenure bench: --cpuprofile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := tenurebench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tenure bench: %v\n", err)
		return 1
	}
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "tenure bench: %v\n", err)
			return 1
		}
		return 0
	}
	printBench(stdout, res)
	return 0
}

// printBench prints the figures as a small table for people.
func printBench(w io.Writer, r *tenurebench.Result) {
	row := func(k, format string, a ...any) { fmt.Fprintf(w, "  %-22s %s\n", k, fmt.Sprintf(format, a...)) }
	fmt.Fprintf(w, "tenure bench (%d CPU, %s, %s)%s\n", r.Machine.NumCPU, r.Machine.CPUModel, r.Machine.GoVersion,
		map[bool]string{true: " --quick", false: ""}[r.Quick])
	row("acquire_p50_us", "%.0f", r.AcquireP50us)
	row("acquire_p99_us", "%.0f   (%d cycles, max %.0f)", r.AcquireP99us, r.AcquireCount, r.AcquireMaxUs)
	row("throughput_per_s", "%.0f   (%d workers, %.1fs)", r.ThroughputPerS, r.ThroughputWorkers, r.ThroughputWindowS)
	row("failover_ms", "%.0f   (worst of %v at TTL %.0fms; bound %.0f)", r.FailoverMs, r.FailoverRunsMs, r.FailoverTTLMs, r.FailoverBoundMs)
	row("renew_packets_per_s", "%.1f   (to each voter, %d leases, TTL %.0fms)", r.RenewPacketsPerS, r.HeldLeases, r.HeldTTLMs)
	row("cpu_percent", "%.2f   (holder; voters %.2f each)", r.CPUPercent, r.VoterCPUPercent)
	row("bytes_per_lease", "%.0f", r.BytesPerLease)
	if r.SimEventsPerS > 0 {
		row("sim_events_per_s", "%.0f", r.SimEventsPerS)
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
		return 1
	}
	return 0
}

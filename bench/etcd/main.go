// Command etcdbench runs tenure bench's workloads against etcd through the
// official client's concurrency package (Session + Mutex), and writes the
// side-by-side table of bench/compare.sh. It lives in its own module so
// that the tenure module never depends on etcd.
//
//	etcdbench run --endpoints URL,URL,URL [--json] [--quick] [--server-pids P,P,P] [--workers 1,8,...] [...]
//	etcdbench holder --endpoints URLS --key PREFIX --ttl SECONDS   (internal: the failover holder)
//	etcdbench report --tenure GLOB --etcd GLOB [--out RESULTS.md] [--commit REV] [--cmd TEXT]... [--note TEXT]...
//	etcdbench freeports N
//
// The workloads are tenure bench's (benchutil.Workload): at each
// concurrency (1, 8, 32, 128), that many workers loop Mutex.Lock then
// Unlock, each on a mutex of its own, once with one concurrency.Session
// shared by all the workers (as users write it) and once with a Session
// per worker, reported separately; the failover holder is a separate
// process holding a Mutex on a session of TTL 2s, killed with SIGKILL
// while a waiter here is blocked in Lock; the many-lock holder takes
// 10,000 mutexes on one session (etcd's cheapest way: one lease
// keep-alive for all of them).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/bench/benchutil"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: etcdbench run|holder|report|freeports [flags] (see the package doc)")
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "holder":
		return cmdHolder(args[1:], stdout, stderr)
	case "report":
		return cmdReport(args[1:], stdout, stderr)
	case "freeports":
		return cmdFreePorts(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "etcdbench: unknown command %q\n", args[0])
	return 2
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// intsFlag is a comma-separated list of positive integers.
type intsFlag []int

func (l *intsFlag) String() string { return benchutil.FormatInts(*l) }
func (l *intsFlag) Set(v string) error {
	xs, err := benchutil.ParseInts(v)
	if err == nil {
		*l = xs
	}
	return err
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("etcdbench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := defaultConfig()
	endpoints := fs.String("endpoints", "", "etcd client URLs, comma-separated (required)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	quick := fs.Bool("quick", false, "smoke run: short windows, few locks (flags given explicitly still win)")
	pids := fs.String("server-pids", "", "PIDs of the etcd members, comma-separated, to measure their CPU")
	seed := fs.Uint64("seed", d.Seed, "seed of the failover kill instants")
	phases := fs.String("phases", strings.Join(allPhases, ","), "phases to run, comma-separated")
	workers, leases := intsFlag(d.Workers), intsFlag(d.Leases)
	fs.Var(&workers, "workers", "concurrency levels of the curve phase, comma-separated")
	fs.Var(&leases, "leases", "counts of mutexes held in the hold phase, ascending, comma-separated")
	duration := fs.Duration("duration", d.Duration, "window of each concurrency level")
	failoverRuns := fs.Int("failover-runs", d.FailoverRuns, "holder processes killed in the failover phase")
	failoverTTL := fs.Duration("failover-ttl", d.FailoverTTL, "session TTL of the failover holder (whole seconds)")
	holdTTL := fs.Duration("hold-ttl", d.HoldTTL, "session TTL of the hold phase (whole seconds)")
	window := fs.Duration("window", d.Window, "measurement window at each count of held mutexes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *endpoints == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "etcdbench run: --endpoints is required, and no argument")
		return 2
	}
	cfg := defaultConfig()
	if *quick {
		cfg = quickConfig()
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "workers":
			cfg.Workers = workers
		case "leases":
			cfg.Leases = leases
		case "duration":
			cfg.Duration = *duration
		case "failover-runs":
			cfg.FailoverRuns = *failoverRuns
		case "failover-ttl":
			cfg.FailoverTTL = *failoverTTL
		case "hold-ttl":
			cfg.HoldTTL = *holdTTL
		case "window":
			cfg.Window = *window
		}
	})
	cfg.Endpoints = splitList(*endpoints)
	cfg.Phases = splitList(*phases)
	cfg.Seed = *seed
	for _, p := range splitList(*pids) {
		pid, err := strconv.Atoi(p)
		if err != nil {
			fmt.Fprintf(stderr, "etcdbench run: --server-pids %q: %v\n", p, err)
			return 2
		}
		cfg.ServerPIDs = append(cfg.ServerPIDs, pid)
	}
	if err := cfg.check(); err != nil {
		fmt.Fprintln(stderr, "etcdbench run:", err)
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "etcdbench:", err)
		return 1
	}
	cfg.Binary = exe
	cfg.Log = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "etcdbench:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return 1
		}
		return 0
	}
	for _, p := range res.Curve {
		fmt.Fprintf(stdout, "%-20s %4d workers: p50 %6.0fµs p99 %6.0fµs %8.0f cycles/s\n", p.Mode, p.Workers, p.AcquireP50us, p.AcquireP99us, p.ThroughputPerS)
	}
	if f := res.Failover; f != nil {
		fmt.Fprintf(stdout, "failover at TTL %.0fms: worst %.0fms, median %.0fms\n", f.TTLMs, f.WorstMs, f.MedianMs)
	}
	for _, h := range res.Hold {
		fmt.Fprintf(stdout, "%d mutexes held: client CPU %.2f%%, %.0f B each, members' CPU %.2f%% each\n", h.Leases, h.CPUPercent, h.BytesPerLease, h.VoterCPUPercent)
	}
	return 0
}

func cmdHolder(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("etcdbench holder", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoints := fs.String("endpoints", "", "etcd client URLs")
	key := fs.String("key", "", "mutex prefix")
	ttl := fs.Int("ttl", 2, "session TTL in seconds")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *endpoints == "" || *key == "" {
		fmt.Fprintln(stderr, "etcdbench holder: --endpoints and --key are required")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := holdMutex(ctx, splitList(*endpoints), *key, *ttl, stdout); err != nil {
		fmt.Fprintln(stderr, "etcdbench holder:", err)
		return 1
	}
	return 0
}

func cmdFreePorts(args []string, stdout, stderr io.Writer) int {
	n := 1
	if len(args) > 0 {
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil || n < 1 {
			fmt.Fprintln(stderr, "etcdbench freeports: want a count")
			return 2
		}
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(stderr, "etcdbench freeports:", err)
			return 1
		}
		ls = append(ls, l)
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	fmt.Fprintln(stdout, strings.Join(ports, " "))
	return 0
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Command etcdbench runs tenure bench's workloads against etcd through the
// official client's concurrency package (Session + Mutex), and writes the
// side-by-side table of bench/compare.sh. It lives in its own module so
// that the tenure module never depends on etcd.
//
//	etcdbench run --endpoints URL,URL,URL [--json] [--quick] [--server-pids P,P,P]
//	etcdbench holder --endpoints URLS --key PREFIX --ttl SECONDS   (internal: the failover holder)
//	etcdbench report --tenure GLOB --etcd GLOB [--out RESULTS.md] [--cmd TEXT]...
//	etcdbench freeports N
//
// The workloads mirror tenure bench: acquire = Mutex.Lock on a reused
// session, release = Mutex.Unlock; throughput workers each have their own
// session and mutex; the failover holder is a separate process holding a
// Mutex on a session of TTL 2s, killed with SIGKILL while a waiter here is
// blocked in Lock; the many-lock holder takes 10,000 mutexes on one
// session (etcd's cheapest way: one lease keep-alive for all of them).
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

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("etcdbench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoints := fs.String("endpoints", "", "etcd client URLs, comma-separated (required)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	quick := fs.Bool("quick", false, "smoke run: few iterations, short windows, few locks")
	pids := fs.String("server-pids", "", "PIDs of the etcd members, comma-separated, to measure their CPU")
	seed := fs.Uint64("seed", 1, "seed of the failover kill instants")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *endpoints == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "etcdbench run: --endpoints is required")
		return 2
	}
	cfg := defaultConfig()
	if *quick {
		cfg = quickConfig()
	}
	cfg.Endpoints = splitList(*endpoints)
	cfg.Seed = *seed
	for _, p := range splitList(*pids) {
		pid, err := strconv.Atoi(p)
		if err != nil {
			fmt.Fprintf(stderr, "etcdbench run: --server-pids %q: %v\n", p, err)
			return 2
		}
		cfg.ServerPIDs = append(cfg.ServerPIDs, pid)
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
	fmt.Fprintf(stdout, "etcd: acquire p50 %.0fµs p99 %.0fµs, throughput %.0f/s, failover %.0fms (TTL %.0fms), holder CPU %.2f%%, %.0f B/lock, servers CPU %.2f%% each\n",
		res.AcquireP50us, res.AcquireP99us, res.ThroughputPerS, res.FailoverMs, res.FailoverTTLMs, res.CPUPercent, res.BytesPerLease, res.VoterCPUPercent)
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

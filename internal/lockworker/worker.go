//go:build unix

// Package lockworker is the command the tests of `tenure lock` run under a
// lease: a process that logs what happens to it, so a test can tell when
// it started, whether it was still alive, when it got SIGTERM and when it
// ended. Both cmd/tenure's unit tests and the end-to-end tests use it.
package lockworker

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Run is the worker: Run(LOG, OPTION...) appends "EVENT PID UNIXNANO"
// lines to the file LOG: start, alive every 2 ms, term on SIGTERM, end
// when for=DURATION has passed, then it exits with exit=N (default 0).
// Options: ignore-term (keep running on SIGTERM; without it the process
// dies of it), for=DURATION, exit=N, setsid (move to a session of its own
// first). It returns the exit status.
func Run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "worker: LOG [OPTION...]")
		return 2
	}
	f, err := os.OpenFile(args[0], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	logf := func(ev string) { fmt.Fprintf(f, "%s %d %d\n", ev, os.Getpid(), time.Now().UnixNano()) }
	var end <-chan time.Time
	code := 0
	terms := make(chan os.Signal, 4)
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "ignore-term":
			signal.Notify(terms, syscall.SIGTERM)
		case "for":
			d, _ := time.ParseDuration(v)
			end = time.After(d)
		case "exit":
			code, _ = strconv.Atoi(v)
		case "setsid":
			if _, err := syscall.Setsid(); err != nil {
				fmt.Fprintln(os.Stderr, "worker: setsid:", err)
				return 1
			}
		}
	}
	logf("start")
	tick := time.NewTicker(2 * time.Millisecond)
	for {
		select {
		case <-terms:
			logf("term")
		case <-tick.C:
			logf("alive")
		case <-end:
			logf("end")
			return code
		}
	}
}

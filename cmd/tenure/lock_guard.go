//go:build unix

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The guard: a second process that kills the command's group at the
// deadline when tenure lock itself cannot. tenure lock is what stops the
// command before its deadline (R16); stopped alone (kill -STOP of its pid,
// a debugger) or killed with SIGKILL, it stopped nothing, and the command
// worked on while another client held the lease (found by an edge review).
// The guard is told every new deadline over a pipe, as an instant on the
// system's monotonic clock, and kills the command's process group with
// SIGKILL at it unless told a later one. It runs in tenure lock's own
// process group: a ^Z that suspends tenure lock with the command suspends
// the guard too, and a stop of the guard alone leaves tenure lock to act.
// It exits once the command's group is empty.

// guardArg, as tenure lock's first argument, runs the guard of process
// group PGID instead (internal; not a lease name, which cannot start with
// "-").
const guardArg = "--internal-guard"

// guardKillFor is how long the guard repeats SIGKILL, for a process
// forked as the first one went.
const guardKillFor = time.Second

// guardPoll bounds how long the guard sleeps between looks at the
// command's group and its pipe.
const guardPoll = 50 * time.Millisecond

// guardPid is the guard's pid once started: it is tenure lock's
// descendant but none of the command's, and descendants leaves it out.
var guardPid atomic.Int64

// lockGuard is tenure lock's end of its guard.
type lockGuard struct {
	pid int
	w   *os.File
}

// monoNow reads the system's monotonic clock, which every process shares.
func monoNow() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

// startLockGuard starts the guard of process group pgid, a child of this
// process that writes to stderr. The caller tells it the first deadline.
func startLockGuard(pgid int, stderr io.Writer) (*lockGuard, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "lock", guardArg, strconv.Itoa(pgid))
	cmd.Stdin = r
	if f, ok := stderr.(*os.File); ok {
		// A file only: any other writer needs a copying goroutine in this
		// process, which a stop of this process would stop too.
		cmd.Stdout, cmd.Stderr = f, f
	}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, err
	}
	// Never blocks tenure lock: a stopped guard that stops reading loses
	// updates, which only makes it kill earlier (at a deadline it knew).
	if err := syscall.SetNonblock(int(w.Fd()), true); err != nil {
		w.Close()
		return nil, err
	}
	// tenure lock's reaper (startTree) collects it when it exits; Release
	// forgets the pid, so it is read first.
	g := &lockGuard{pid: cmd.Process.Pid, w: w}
	guardPid.Store(int64(g.pid))
	_ = cmd.Process.Release()
	return g, nil
}

// tell gives the guard the instant to kill at.
func (g *lockGuard) tell(killAt time.Time) {
	if g == nil {
		return
	}
	at := monoNow() + time.Until(killAt)
	_, _ = g.w.Write([]byte(strconv.FormatInt(int64(at), 10) + "\n"))
}

// close ends the pipe: the guard, alone, kills at the last deadline it
// was told if the group is still there, and exits once it is empty.
func (g *lockGuard) close() {
	if g != nil {
		g.w.Close()
	}
}

// runLockGuard is the guard process: args is the command's process group.
func runLockGuard(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "tenure lock: internal guard wants one process group")
		return exitUsage
	}
	pgid, err := strconv.Atoi(args[0])
	if err != nil || pgid <= 1 {
		fmt.Fprintf(stderr, "tenure lock: internal guard: bad process group %q\n", args[0])
		return exitUsage
	}
	// Signals meant for tenure lock's group (a ^C without a terminal
	// handed to the command, a SIGTERM to the group) must not end the
	// guard; tenure lock passes them on to the command itself.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTTOU)
	updates := make(chan time.Duration, 16)
	go readKillAts(os.Stdin, updates)
	var (
		killAt  time.Duration = -1 // none told yet: nothing to enforce
		killed  time.Duration      // first SIGKILL; zero before
		pipeEOF bool
	)
	for {
		if !groupAlive(pgid) {
			return exitOK
		}
		now := monoNow()
		if killAt >= 0 && now >= killAt {
			// Updates already written must count: tenure lock may have
			// renewed just before this process was scheduled.
			killAt, pipeEOF = drainKillAts(updates, killAt, pipeEOF)
		}
		if killAt >= 0 && now >= killAt {
			if killed == 0 {
				killed = now
				fmt.Fprintf(stderr, "tenure lock: guard: the lease's deadline came with no renewal from tenure lock (stopped or killed); SIGKILL to the command's process group %d\n", pgid)
			} else if now-killed > guardKillFor {
				// Every process of the group got SIGKILL, which none
				// escapes; what is left are zombies for tenure lock to
				// reap (while it is stopped, they stay).
				return exitOK
			}
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		wait := guardPoll
		if killAt >= 0 && killed == 0 {
			wait = min(wait, max(killAt-now, 0))
		}
		var ch <-chan time.Duration
		if !pipeEOF {
			ch = updates
		}
		t := time.NewTimer(wait)
		select {
		case at, ok := <-ch:
			if !ok {
				pipeEOF = true
			} else if killed == 0 {
				killAt = at
			}
		case <-t.C:
		}
		t.Stop()
	}
}

// drainKillAts takes every update already received without waiting.
func drainKillAts(updates <-chan time.Duration, killAt time.Duration, eof bool) (time.Duration, bool) {
	for !eof {
		select {
		case at, ok := <-updates:
			if !ok {
				return killAt, true
			}
			killAt = at
		default:
			return killAt, eof
		}
	}
	return killAt, eof
}

// readKillAts passes on each instant tenure lock writes, one per line, and
// closes updates at the end of the pipe. A malformed line ends it too.
func readKillAts(r io.Reader, updates chan<- time.Duration) {
	defer close(updates)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		n, err := strconv.ParseInt(strings.TrimSpace(sc.Text()), 10, 64)
		if err != nil {
			return
		}
		updates <- time.Duration(n)
	}
	// A read error ends the pipe as EOF does: the last instant stands.
}

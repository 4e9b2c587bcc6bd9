//go:build unix

package main

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// procTree is the command tenure lock runs and everything it started: its
// process group and, on Linux, every descendant (see lock_linux.go). It is
// "gone" when the command has exited, no process of its group is left and,
// on Linux, no descendant is left either.
type procTree struct {
	pid  int // the command: leader of its own process group
	pgid int

	// leader gets the command's wait status when it exits (once).
	leader chan syscall.WaitStatus
	// stops gets the signal that stopped the command (^Z), if it stops.
	stops chan syscall.Signal
	// gone is closed when nothing of the tree is left.
	gone chan struct{}

	tty int // the terminal handed to the group, or -1
}

// treeSpec is what startTree runs.
type treeSpec struct {
	path  string    // resolved executable
	argv  []string  // argv[0] included
	env   []string  // full environment
	files []uintptr // stdin, stdout, stderr
	tty   int       // a terminal to hand to the command's group, or -1
}

// signal sends sig to the command's process group and to every
// descendant that left the group (setpgid, setsid) that this system can
// find.
func (t *procTree) signal(sig syscall.Signal) {
	_ = syscall.Kill(-t.pgid, sig)
	for _, p := range t.strays() {
		_ = syscall.Kill(p.pid, sig)
	}
}

// groupAlive reports whether any process is left in process group pgid. A
// process of another user in it makes kill fail with EPERM: still alive.
func groupAlive(pgid int) bool {
	return !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// waitGroupEmpty returns once process group pgid has no process left. A
// group cannot be waited for, so it is polled.
func waitGroupEmpty(pgid int) {
	for groupAlive(pgid) {
		time.Sleep(20 * time.Millisecond) // polling: no event tells
	}
}

// foregroundTTY returns the first of stdin, stdout and stderr that is this
// process's controlling terminal with this process's group in the
// foreground, or -1. Only then does tenure lock hand the terminal on: a
// tenure lock running as a background job leaves it alone.
func foregroundTTY() int {
	for fd := range 3 {
		pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
		if err == nil && pg == syscall.Getpgrp() {
			return fd
		}
	}
	return -1
}

// holdBackground readies tenure lock to run in a background group once the
// terminal belongs to the command: SIGTTOU is ignored, so that writing to
// the terminal (with `stty tostop`) and moving the terminal's foreground
// never stop tenure lock. It is called after the command started (an
// ignored signal stays ignored across exec; a caught one does not) and
// undone by takeTerminal.
func holdBackground() {
	signal.Ignore(syscall.SIGTTOU)
}

// setForeground makes process group pgid the foreground of terminal fd
// (tcsetpgrp). SIGTTOU must be ignored (holdBackground).
func setForeground(fd, pgid int) error {
	return unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, pgid)
}

// takeTerminal makes this process's group the foreground of terminal fd
// again, after the command's group is gone, and stops ignoring SIGTTOU.
func takeTerminal(fd int) error {
	defer defaultSignal(syscall.SIGTTOU)
	return setForeground(fd, syscall.Getpgrp())
}

// newProcTree returns a tree with its channels made; the caller sets pid
// and pgid once the command started.
func newProcTree(tty int) *procTree {
	return &procTree{leader: make(chan syscall.WaitStatus, 1), stops: make(chan syscall.Signal, 1), gone: make(chan struct{}), tty: tty}
}

// leaderChanged passes on a change of the command's wait status: a stop
// (dropped if one is already pending) or its exit.
func (t *procTree) leaderChanged(ws syscall.WaitStatus) {
	if ws.Stopped() {
		select {
		case t.stops <- ws.StopSignal():
		default:
		}
		return
	}
	t.leader <- ws
}

// stdioFile returns the descriptor the command gets for w: w's own if it
// is a file, else the write end of a pipe copied to w. wait, if not nil,
// returns once the copy is done (every writer closed) or after a second.
func stdioFile(w io.Writer) (fd uintptr, closeAfterStart *os.File, wait func(), err error) {
	if f, ok := w.(*os.File); ok {
		return f.Fd(), nil, nil, nil
	}
	r, wr, err := os.Pipe()
	if err != nil {
		return 0, nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(w, r)
		r.Close()
		close(done)
	}()
	return wr.Fd(), wr, func() {
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}, nil
}

// stray is a live descendant of tenure lock: its pid, its process group,
// and whether it is stopped.
type stray struct {
	pid, pgid int
	stopped   bool
}

// catchStops keeps a ^Z from stopping tenure lock while it starts the
// command; the returned function restores the default. A ^Z typed while
// the child is forked but not yet in its own foreground group reaches the
// child too, which then stops before it runs the command (its signals are
// blocked until just before exec, then SIGTSTP is at its default):
// awaitStart continues such a child. That ^Z is lost.
func catchStops() (restore func()) {
	if signal.Ignored(syscall.SIGTSTP) {
		return func() {} // a ^Z cannot stop tenure lock, nor the child before exec
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTSTP)
	return func() {
		signal.Stop(c)
		defaultSignal(syscall.SIGTSTP)
	}
}

// awaitStart returns the outcome of starting the command, continuing
// meanwhile any child of tenure lock that stopped before exec (on Linux;
// elsewhere descendants finds none, and such a child stays stopped until
// it gets SIGCONT).
func awaitStart(started <-chan error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-started:
			return err
		case <-tick.C:
			for _, d := range descendants() {
				if d.stopped {
					_ = syscall.Kill(d.pid, syscall.SIGCONT)
				}
			}
		}
	}
}

// strays lists the live descendants that left the command's group.
func (t *procTree) strays() []stray {
	var out []stray
	for _, p := range descendants() {
		if p.pgid != t.pgid {
			out = append(out, p)
		}
	}
	return out
}

// pidsLeft lists the live processes left of the tree that this system can
// find, for messages: every descendant on Linux, none elsewhere.
func (t *procTree) pidsLeft() []int {
	var pids []int
	for _, p := range descendants() {
		pids = append(pids, p.pid)
	}
	slices.Sort(pids)
	return pids
}

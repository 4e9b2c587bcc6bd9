package main

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// defaultSignal sets sig's action back to the default (SIG_DFL).
// signal.Reset does not for job-control signals: once notified or
// ignored, the Go runtime keeps its own handler, which drops them.
func defaultSignal(sig syscall.Signal) {
	// An all-zero struct sigaction is SIG_DFL with no flags and an empty
	// mask whatever the architecture's field order; 48 bytes cover every
	// layout. The kernel's signal set is 8 bytes, 16 on MIPS.
	var act [6]uint64
	setSize := uintptr(8)
	if strings.HasPrefix(runtime.GOARCH, "mips") {
		setSize = 16
	}
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, setSize, 0, 0)
}

// startTree starts the command in its own process group, with SIGKILL as
// its parent-death signal, and makes tenure lock a child subreaper so that
// every orphaned descendant becomes its child instead of init's.
//
// What "gone" then means: the reaper below waits for any child until the
// kernel answers ECHILD. Every live descendant of tenure lock has a live
// parent that is tenure lock or another descendant (an orphan is handed to
// the nearest living subreaper ancestor, which is tenure lock or one of its
// descendants), so "no child" means "no descendant", whatever group or
// session a descendant moved to. It then waits for the command's process
// group to be empty too (only a process from outside could have joined it).
//
// Pdeathsig is sent when the thread that forked the child ends, not the
// process (go.dev/issue/27505): the goroutine that forks locks its thread
// and keeps it, waiting for children, for as long as the tree lives.
func startTree(spec treeSpec) (*procTree, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t := newProcTree(spec.tty)
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the child's Pdeathsig follows this thread
		attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if spec.tty >= 0 {
			// The child puts its own group in the foreground before exec,
			// with every signal blocked (no SIGTTOU).
			attr.Foreground, attr.Ctty = true, spec.tty
		}
		pid, err := syscall.ForkExec(spec.path, spec.argv, &syscall.ProcAttr{Env: spec.env, Files: spec.files, Sys: attr})
		if err != nil {
			started <- err
			return // no child: the thread may end
		}
		t.pid, t.pgid = pid, pid
		started <- nil
		t.reap()
	}()
	if err := awaitStart(started); err != nil {
		return nil, err
	}
	return t, nil
}

// reap waits for every child of tenure lock (the command, and the orphans
// the subreaper hands over) and closes gone when none is left and the
// command's group is empty. A stop of the command is passed on; stops of
// other children are not (WUNTRACED reports them too, without reaping).
func (t *procTree) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WUNTRACED, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
		case err != nil:
			// ECHILD: no child left, so no descendant (the only error
			// wait4 gives here; any other would only spin).
			waitGroupEmpty(t.pgid)
			close(t.gone)
			return
		case pid == t.pid:
			t.leaderChanged(ws)
		}
	}
}

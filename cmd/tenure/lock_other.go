//go:build unix && !linux

package main

import (
	"errors"
	"os/signal"
	"syscall"
)

// canStopSelf is false here: once caught, SIGTSTP cannot be given back
// its default action, so a ^Z of the command is refused (the command is
// continued; see locker.suspend).
func canStopSelf() bool { return false }

// stopSelf is never called here.
func stopSelf() {}

// defaultSignal is signal.Reset here: for job-control signals the Go
// runtime then keeps a handler that drops them.
func defaultSignal(sig syscall.Signal) { signal.Reset(sig) }

// startTree starts the command in its own process group. Systems other
// than Linux get neither a parent-death signal nor a subreaper here: a
// command whose tenure lock is killed with SIGKILL keeps running, and a
// descendant that leaves the group (setsid, setpgid) is neither waited for
// nor signalled. "Gone" means: the command exited and its process group is
// empty.
func startTree(spec treeSpec) (*procTree, error) {
	t := newProcTree(spec.tty)
	attr := &syscall.SysProcAttr{Setpgid: true}
	if spec.tty >= 0 {
		attr.Foreground, attr.Ctty = true, spec.tty
	}
	pid, err := syscall.ForkExec(spec.path, spec.argv, &syscall.ProcAttr{Env: spec.env, Files: spec.files, Sys: attr})
	if err != nil {
		return nil, err
	}
	t.pid, t.pgid = pid, pid
	go t.reap()
	return t, nil
}

// reap waits for the command (passing on its stops), then for its group
// to be empty.
func (t *procTree) reap() {
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(t.pid, &ws, syscall.WUNTRACED, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			break
		}
		t.leaderChanged(ws)
		if !ws.Stopped() {
			break
		}
	}
	waitGroupEmpty(t.pgid)
	close(t.gone)
}

// descendants finds nothing on this system: only the process group is
// tracked.
func descendants() []stray { return nil }

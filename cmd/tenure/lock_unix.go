//go:build unix

package main

import (
	"os/exec"
	"syscall"
	"time"
)

// ownProcessGroup makes cmd the leader of a new process group, so that
// signals reach its children too.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to cmd's whole process group.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, sig)
	}
}

// waitGroupGone returns once no process is left in cmd's group, or when
// timeout fires. A group cannot be waited for, so it is polled.
func waitGroupGone(cmd *exec.Cmd, timeout <-chan time.Time) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for syscall.Kill(-cmd.Process.Pid, 0) == nil {
		select {
		case <-timeout:
			return
		case <-tick.C:
		}
	}
}

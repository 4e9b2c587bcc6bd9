//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLockGuardStopsCommand: tenure lock is stopped (SIGSTOP) or killed
// (SIGKILL) while its command runs, and the command's process group holds
// a process that no parent-death signal reaches (a child of the command).
// Nothing renews the lease; the guard process kills the group before the
// agent's deadline. Without the guard the child ran on past it.
func TestLockGuardStopsCommand(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGSTOP, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			a := newFakeAgent(t, 1500*time.Millisecond)
			log := filepath.Join(t.TempDir(), "log")
			r := startLockProc(t, "--agent", a.srv.URL, "job", "--",
				"sh", "-c", `"$0" worker "$1" & wait`, selfPath(t), log)
			pollUntil(t, "the command to start", func() bool { return len(readWorkerLog(log)) > 0 })
			if err := r.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.cmd.Process.Signal(syscall.SIGCONT) })
			pid := readWorkerLog(log)[0].pid
			// If the guard failed, the child outlives the test and holds
			// tenure lock's stderr open: end it, so that the test fails
			// rather than hangs.
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			pollUntil(t, "the command's child to be gone", func() bool {
				return syscall.Kill(pid, 0) != nil || isZombie(pid)
			})
			evs := readWorkerLog(log)
			last := evs[len(evs)-1].at
			a.mu.Lock()
			deadline := a.deadline
			a.mu.Unlock()
			if !last.Before(deadline) {
				t.Fatalf("tenure lock %v: the command's child lived %v past the agent's deadline", sig, last.Sub(deadline))
			}
			t.Logf("tenure lock %v: the command's child's last sign of life %v before the agent's deadline", sig, deadline.Sub(last))
		})
	}
}

// isZombie reports whether process pid has exited and waits to be reaped
// (its parent, tenure lock, may be stopped).
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // gone
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

//go:build linux

package tenurebench

import (
	"os/exec"
	"syscall"
)

// childAttrs makes a child die with this process (it gets SIGKILL when
// the parent exits), so that an interrupted bench leaves no agents behind.
func childAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

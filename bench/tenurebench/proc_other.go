//go:build !linux

package tenurebench

import (
	"errors"
	"os/exec"
	"time"
)

// selfCPU is not measured off Linux: cpu_percent reads 0.
func selfCPU() time.Duration { return 0 }

// pidCPU is not measured off Linux.
func pidCPU(pid int) (time.Duration, error) {
	return 0, errors.New("tenurebench: per-process CPU needs Linux /proc")
}

// childAttrs does nothing off Linux (no parent-death signal).
func childAttrs(cmd *exec.Cmd) {}

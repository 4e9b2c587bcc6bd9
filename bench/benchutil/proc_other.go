//go:build !linux

package benchutil

import (
	"errors"
	"time"
)

// SelfCPU is not measured off Linux: it reads 0.
func SelfCPU() time.Duration { return 0 }

// PIDCPU is not measured off Linux.
func PIDCPU(pid int) (time.Duration, error) {
	return 0, errors.New("benchutil: per-process CPU needs Linux /proc")
}

// PIDRSS is not measured off Linux.
func PIDRSS(pid int) (uint64, error) {
	return 0, errors.New("benchutil: resident set size needs Linux /proc")
}

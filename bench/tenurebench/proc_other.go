//go:build !linux

package tenurebench

import "os/exec"

// childAttrs does nothing off Linux (no parent-death signal).
func childAttrs(cmd *exec.Cmd) {}

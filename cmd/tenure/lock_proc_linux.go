package main

import (
	"bytes"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
)

// procInfo is what tenure lock reads of a process in /proc/PID/stat.
type procInfo struct {
	ppid, pgid, sid int
	stopped         bool
}

// procTable reads every live (not zombie) process from /proc. It is a
// snapshot: a process may fork or exit meanwhile.
func procTable() map[int]procInfo {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	procs := map[int]procInfo{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp session ...; comm may hold spaces
		// and ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 4 || f[0][0] == 'Z' || f[0][0] == 'X' {
			continue
		}
		ppid, _ := strconv.Atoi(string(f[1]))
		pgid, _ := strconv.Atoi(string(f[2]))
		sid, _ := strconv.Atoi(string(f[3]))
		procs[pid] = procInfo{ppid, pgid, sid, f[0][0] == 'T'}
	}
	return procs
}

// descendants lists the live descendants of this process. Callers that
// must kill everything call it again until the tree is gone.
func descendants() []stray {
	procs := procTable()
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var out []stray
	queue := []int{os.Getpid()}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if int64(c) == guardPid.Load() {
				continue // the guard (lock_guard.go): not the command's
			}
			out = append(out, stray{c, procs[c].pgid, procs[c].stopped})
			queue = append(queue, c)
		}
	}
	return out
}

// groupOrphaned reports whether this process's group is orphaned: no
// member has a parent in another group of the same session. No
// job-control shell would continue such a group, and the kernel discards
// SIGTSTP sent to it.
func groupOrphaned() bool {
	procs := procTable()
	pgid, sid := syscall.Getpgrp(), os.Getpid()
	if me, ok := procs[os.Getpid()]; ok {
		sid = me.sid
	}
	for _, p := range procs {
		if p.pgid != pgid {
			continue
		}
		if parent, ok := procs[p.ppid]; ok && parent.pgid != pgid && parent.sid == sid {
			return false
		}
	}
	return true
}

// canStopSelf reports whether tenure lock can stop with SIGTSTP: the
// signal is not ignored and its group is not orphaned.
func canStopSelf() bool {
	return !signal.Ignored(syscall.SIGTSTP) && !groupOrphaned()
}

// stopSelf stops tenure lock's process group with SIGTSTP, as ^Z would
// have, and returns once tenure lock is continued. Call it only if
// canStopSelf.
func stopSelf() {
	// The stop reaches the threads of this process a moment after kill
	// returns; SIGCONT, caught, tells when it is over.
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, syscall.SIGCONT)
	defer signal.Stop(cont)
	_ = syscall.Kill(0, syscall.SIGTSTP) // and whatever shares the job with tenure lock
	<-cont
}

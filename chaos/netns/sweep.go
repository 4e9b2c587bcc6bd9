package netns

import (
	"errors"
	"os"
	"strconv"
	"strings"
)

// Sweep deletes the namespaces and root links left by labs whose process is
// gone (a test binary killed by a timeout or a signal): every name with
// Prefix whose embedded pid does not exist. With all set it deletes every
// name with Prefix, whoever made it: only for when no lab is running. It
// returns the names it removed.
func Sweep(all bool) ([]string, error) {
	return sweep(func(rest string) bool { return all || !ownerAlive(rest) })
}

// SweepProcess deletes every namespace and root link that labs of the
// process pid made: the safety net a test registers with t.Cleanup to
// catch (and report) a lab that was not closed.
func SweepProcess(pid int) ([]string, error) {
	return sweep(func(rest string) bool { p, ok := ownerPid(rest); return ok && p == pid })
}

// sweep deletes the names with Prefix for which remove, given the name
// after the prefix, returns true.
func sweep(remove func(rest string) bool) ([]string, error) {
	var removed []string
	var errs []error
	names, err := listNamespaces()
	if err != nil {
		return nil, err
	}
	for _, ns := range names {
		if !strings.HasPrefix(ns, Prefix+"-") {
			continue
		}
		if !remove(strings.TrimPrefix(ns, Prefix+"-")) {
			continue
		}
		if err := removeNamespace(ns); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, ns)
	}
	out, err := run("ip", "-o", "link", "show")
	if err != nil {
		return removed, errors.Join(append(errs, err)...)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if !strings.HasPrefix(name, Prefix) || strings.HasPrefix(name, Prefix+"-") {
			continue
		}
		if !remove(strings.TrimPrefix(name, Prefix)) {
			continue
		}
		if err := removeLink(name); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}

// ownerAlive reads the pid at the start of rest and reports whether that
// process exists. A name without a pid counts as alive: it is not ours to
// judge.
func ownerAlive(rest string) bool {
	p, ok := ownerPid(rest)
	if !ok {
		return true
	}
	if p == pid() {
		return true
	}
	_, err := os.Stat("/proc/" + strconv.Itoa(p))
	return err == nil
}

// ownerPid reads the pid at the start of rest.
func ownerPid(rest string) (int, bool) {
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	p, err := strconv.Atoi(rest[:i])
	return p, err == nil
}

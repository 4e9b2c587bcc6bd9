package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/api"
)

// killPatience is how long tenure lock repeats SIGKILL for processes that
// do not go (uninterruptible sleep) before it gives up and exits.
const killPatience = 5 * time.Second

// hold keeps the lease alive while the command's tree lives, stops the
// tree when the lease is lost or cannot be confirmed in time, and returns
// the outcome and exit status.
//
// Signal timing (R16: the deadline is tenure lock's own, sent time +
// deadline_ms): when the agent says the tenure is over, SIGTERM at once;
// when no renewal is confirmed, SIGTERM at deadline - grace. SIGKILL at
// min(SIGTERM + grace, deadline - killMargin), then again every 50 ms
// until nothing is left (a process may fork meanwhile).
func (l *locker) hold(tree *procTree, sigs <-chan os.Signal) (outcome string, code int) {
	var (
		stopping bool      // SIGTERM sent: the tree is being stopped
		termAt   time.Time // when
		killedAt time.Time // first SIGKILL; zero before
		over     bool      // the agent said the tenure is over
		status   *syscall.WaitStatus
	)
	termBefore := max(l.grace, l.killMargin)
	next := func() time.Time {
		switch {
		case !stopping:
			return l.deadline.Add(-termBefore)
		case killedAt.IsZero():
			killAt := termAt.Add(l.grace)
			if d := l.deadline.Add(-l.killMargin); d.Before(killAt) {
				killAt = d
			}
			return killAt
		default:
			return time.Now().Add(50 * time.Millisecond)
		}
	}
	alarm := time.NewTimer(time.Until(next()))
	defer alarm.Stop()
	stop := func(why string) {
		stopping, termAt = true, time.Now()
		l.errorf("LOST lease %q (token %d): %s; stopping the command (SIGTERM now, SIGKILL in %v at the latest)",
			l.name, l.token, why, time.Until(next()).Round(time.Millisecond))
		tree.signal(syscall.SIGTERM)
		alarm.Reset(time.Until(next()))
	}

	type kaResult struct {
		sent time.Time
		g    api.Grant
		err  error
	}
	kaDone := make(chan kaResult, 1)
	inFlight := false
	kaTimer := time.NewTimer(l.keepaliveIn())
	defer kaTimer.Stop()

	for {
		select {
		case ws := <-tree.leader:
			status = &ws
			if pids := tree.pidsLeft(); len(pids) > 0 {
				fmt.Fprintf(l.info, "tenure lock: the command exited (status %d); holding the lease until its processes %v are gone\n", exitCode(status), pids)
			} else if groupAlive(tree.pgid) {
				fmt.Fprintf(l.info, "tenure lock: the command exited (status %d); holding the lease until its process group %d is empty\n", exitCode(status), tree.pgid)
			}
		case <-tree.gone:
			if status == nil {
				select { // sent before gone closed; the select may pick gone first
				case ws := <-tree.leader:
					status = &ws
				default:
				}
			}
			if tree.tty >= 0 {
				if err := takeTerminal(tree.tty); err != nil {
					l.errorf("taking the terminal back: %v", err)
				}
			}
			switch {
			case stopping:
				if !over {
					l.release()
				}
				return outcomeLost, l.opts.exitLost
			case !time.Now().Before(l.deadline):
				// tenure lock was not scheduled in time to stop the tree.
				l.errorf("LOST lease %q (token %d): the command ended after the deadline", l.name, l.token)
				return outcomeLost, l.opts.exitLost
			}
			l.release()
			return outcomeDone, exitCode(status)
		case s := <-sigs:
			tree.signal(s.(syscall.Signal))
		case sig := <-tree.stops:
			switch l.suspend(tree, sig) {
			case resumed:
				kaTimer.Reset(0) // the deadline may be near: renew at once
				alarm.Reset(time.Until(next()))
			case tooLate:
				if !stopping {
					stopping, termAt = true, time.Now()
				}
				killedAt = time.Now()
				tree.signal(syscall.SIGKILL)
				alarm.Reset(time.Until(next()))
			}
		case <-alarm.C:
			now := time.Now()
			if killedAt.IsZero() && now.Before(next()) {
				alarm.Reset(time.Until(next()))
				continue
			}
			switch {
			case !stopping:
				stop(fmt.Sprintf("no renewal confirmed with %v left before the deadline", l.deadline.Sub(now).Round(time.Millisecond)))
				continue
			case killedAt.IsZero():
				killedAt = now
			case now.Sub(killedAt) > killPatience:
				l.errorf("processes %v still there %v after SIGKILL; exiting", tree.pidsLeft(), killPatience)
				return outcomeLost, l.opts.exitLost
			}
			tree.signal(syscall.SIGKILL)
			alarm.Reset(time.Until(next()))
		case <-kaTimer.C:
			if inFlight || over || !time.Now().Before(l.deadline) {
				continue
			}
			inFlight = true
			go func(deadline time.Time) {
				// A keepalive that cannot be answered before the deadline
				// is useless: the tree is stopped by then.
				ctx, cancel := context.WithDeadline(context.Background(), deadline)
				defer cancel()
				g, sent, err := l.client.Keepalive(ctx, l.name, l.token, l.key)
				kaDone <- kaResult{sent, g, err}
			}(l.deadline)
		case r := <-kaDone:
			inFlight = false
			switch st := api.StatusOf(r.err); {
			case r.err == nil:
				l.extend(r.sent, r.g)
				alarm.Reset(time.Until(next()))
				kaTimer.Reset(l.keepaliveIn())
			case st == http.StatusGone || st == http.StatusConflict:
				over = true
				if !stopping {
					stop("the agent says the tenure is over: " + r.err.Error())
				}
			default:
				fmt.Fprintf(l.info, "tenure lock: keepalive failed (retrying; deadline in %v): %v\n",
					time.Until(l.deadline).Round(time.Millisecond), r.err)
				kaTimer.Reset(max(l.ttl/10, 20*time.Millisecond))
			}
		}
	}
}

// keepaliveIn is when the next keepalive is due: a third of the TTL, and
// well before the current deadline.
func (l *locker) keepaliveIn() time.Duration {
	return max(min(l.ttl/3, time.Until(l.deadline)/3), 5*time.Millisecond)
}

// suspendResult is what suspend did.
type suspendResult int

const (
	stayStopped suspendResult = iota // the command stays stopped; tenure lock holds on
	resumed                          // the command runs again
	tooLate                          // continued after the deadline: the command must not run again
)

// suspend answers a stop of the command. On ^Z (SIGTSTP) with the terminal
// handed to the command, tenure lock suspends with it so that the shell
// gets the terminal back: it stops the whole group with SIGSTOP first (a
// member that catches SIGTSTP must not run on while nothing renews the
// lease), gives up if a process outside the group runs (it would outlive
// the lease) or if tenure lock cannot stop (an orphaned group: no shell
// would continue it), takes the terminal and stops its own group with
// SIGTSTP.
// When continued (fg), it checks its deadline: past it, the command never
// runs again; before it, the command gets the terminal back and SIGCONT.
// Any other stop (SIGSTOP, or SIGTTIN of a command in the background)
// leaves the command stopped under the lease, as any background job.
func (l *locker) suspend(tree *procTree, sig syscall.Signal) suspendResult {
	if tree.tty < 0 || sig != syscall.SIGTSTP {
		fmt.Fprintf(l.info, "tenure lock: the command was stopped (%v); the lease is kept while it is stopped\n", sig)
		return stayStopped
	}
	_ = syscall.Kill(-tree.pgid, syscall.SIGSTOP)
	why := ""
	if strays := tree.strays(); len(strays) > 0 {
		why = fmt.Sprintf("%d of the command's processes run outside its group", len(strays))
	} else if !canStopSelf() {
		why = "no job control here"
	}
	if why != "" {
		fmt.Fprintf(l.info, "tenure lock: not suspending (%s); continuing the command\n", why)
		_ = syscall.Kill(-tree.pgid, syscall.SIGCONT)
		return resumed
	}
	if err := setForeground(tree.tty, syscall.Getpgrp()); err != nil {
		l.errorf("taking the terminal to suspend: %v", err)
	}
	fmt.Fprintf(l.info, "tenure lock: suspending with the command; the lease is not renewed until both continue\n")
	stopSelf()
	if !time.Now().Before(l.deadline.Add(-l.killMargin)) {
		l.errorf("LOST lease %q (token %d): continued after the deadline; killing the stopped command", l.name, l.token)
		return tooLate
	}
	if err := setForeground(tree.tty, tree.pgid); err != nil {
		l.errorf("handing the terminal back to the command: %v", err)
	}
	_ = syscall.Kill(-tree.pgid, syscall.SIGCONT)
	fmt.Fprintf(l.info, "tenure lock: continued, and so is the command\n")
	return resumed
}

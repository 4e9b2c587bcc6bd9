package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/agent"
)

func init() {
	register("lock", "run a command while holding a lease", runLock)
}

// Exit statuses of tenure lock besides the command's own.
const (
	exitLost    = 3 // the lease was lost while the command ran
	exitNotHeld = 4 // the lease could not be had within --wait
)

const lockAbout = `
Acquires the lease NAME through the agent, runs CMD with TENURE_LEASE and
TENURE_TOKEN (the fencing token) in its environment, keeps the lease alive
while CMD runs and releases it when CMD exits. CMD runs in its own process
group; SIGINT, SIGTERM and SIGHUP sent to tenure lock are passed on to it.

tenure lock computes its own deadline from the instant it SENT each request
to the agent plus the agent's deadline_ms: if the agent stops answering,
the lease counts as lost at that deadline. When the lease is lost, CMD's
process group gets SIGTERM at once and SIGKILL after --grace.

Exit status: CMD's own (128+N if a signal N killed it); 3 if the lease was
lost; 4 if it could not be had within --wait; 1 if the agent could not be
reached or CMD could not start; 2 for bad usage.`

// lockOpts are the flags of tenure lock.
type lockOpts struct {
	agentURL, tokenFile string
	ttl, wait, grace    time.Duration
	value               string
	quiet               bool
}

func newLockFlags(o *lockOpts) *cmdFlags {
	f := newCmdFlags("lock", "tenure lock [flags] NAME -- CMD [ARGS...]", lockAbout)
	addAgentFlags(f, &o.agentURL, &o.tokenFile)
	f.DurationVar(&o.ttl, "ttl", 0, "lease TTL (default: the agent's)")
	f.DurationVar(&o.wait, "wait", 0, "how long to wait for the lease if another holds it (0: try once)")
	f.DurationVar(&o.grace, "grace", 5*time.Second, "after a loss, how long CMD has between SIGTERM and SIGKILL")
	f.StringVar(&o.value, "value", "", "a value stored with the lease for holder queries (e.g. this host's address)")
	f.BoolVar(&o.quiet, "quiet", false, "print nothing but errors")
	return f
}

// addAgentFlags adds the flags every client command uses to reach an
// agent.
func addAgentFlags(f *cmdFlags, url, tokenFile *string) {
	f.StringVar(url, "agent", "http://127.0.0.1:7947", "the agent's HTTP API `URL`")
	f.StringVar(tokenFile, "http-token-file", "", "`file` holding the agent's bearer token")
}

// newClient builds the API client from the agent flags.
func newClient(url, tokenFile string) (*agent.Client, error) {
	c := &agent.Client{BaseURL: url, HTTP: &http.Client{}}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("--agent %q: want an http:// or https:// URL", url)
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--http-token-file: %v", err)
		}
		c.Token = strings.TrimSpace(string(b))
	}
	return c, nil
}

func runLock(args []string, stdout, stderr io.Writer) int {
	var o lockOpts
	f := newLockFlags(&o)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	rest := f.Args()
	if len(rest) < 1 {
		return f.fail(stderr, "missing lease NAME")
	}
	name, cmdArgs := rest[0], rest[1:]
	if len(cmdArgs) > 0 && cmdArgs[0] == "--" {
		cmdArgs = cmdArgs[1:]
	}
	if len(cmdArgs) == 0 {
		return f.fail(stderr, "missing CMD after NAME (tenure lock NAME -- CMD [ARGS...])")
	}
	switch {
	case o.ttl < 0:
		return f.fail(stderr, "--ttl %v is negative", o.ttl)
	case o.wait < 0:
		return f.fail(stderr, "--wait %v is negative", o.wait)
	case o.grace < 0:
		return f.fail(stderr, "--grace %v is negative", o.grace)
	}
	client, err := newClient(o.agentURL, o.tokenFile)
	if err != nil {
		return f.fail(stderr, "%v", err)
	}
	l := &locker{name: name, opts: o, client: client, stderr: stderr}
	if o.quiet {
		l.info = io.Discard
	} else {
		l.info = stderr
	}
	return l.run(cmdArgs, stdout)
}

// locker runs one tenure lock invocation.
type locker struct {
	name   string
	opts   lockOpts
	client *agent.Client
	stderr io.Writer
	info   io.Writer // progress messages

	token    uint64
	ttl      time.Duration
	deadline time.Time // this process's own deadline: send time + deadline_ms
}

func (l *locker) errorf(format string, args ...any) {
	fmt.Fprintf(l.stderr, "tenure lock: "+format+"\n", args...)
}

// extend moves the deadline to sent+g.DeadlineMS if that is later. Each
// such instant is no later than the agent's own deadline, because the
// agent computed deadline_ms after the request was sent.
func (l *locker) extend(sent time.Time, g agent.Grant) {
	if d := sent.Add(time.Duration(g.DeadlineMS) * time.Millisecond); d.After(l.deadline) {
		l.deadline = d
	}
}

func (l *locker) run(cmdArgs []string, stdout io.Writer) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	if code, ok := l.acquire(sigs); !ok {
		return code
	}
	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, l.stderr
	cmd.Env = append(os.Environ(), "TENURE_LEASE="+l.name, "TENURE_TOKEN="+strconv.FormatUint(l.token, 10))
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		l.errorf("cannot start %s: %v", cmdArgs[0], err)
		l.release()
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	type kaResult struct {
		sent time.Time
		g    agent.Grant
		err  error
	}
	kaDone := make(chan kaResult, 1)
	inFlight := false
	lossTimer := time.NewTimer(time.Until(l.deadline))
	defer lossTimer.Stop()
	kaTimer := time.NewTimer(l.keepaliveIn())
	defer kaTimer.Stop()
	for {
		select {
		case err := <-exited:
			l.release()
			return exitCode(err)
		case s := <-sigs:
			signalGroup(cmd, s.(syscall.Signal))
		case <-lossTimer.C:
			if time.Now().Before(l.deadline) {
				lossTimer.Reset(time.Until(l.deadline))
				continue
			}
			return l.lost(cmd, exited, "the agent did not confirm a renewal before the deadline")
		case <-kaTimer.C:
			if inFlight {
				continue
			}
			inFlight = true
			go func(deadline time.Time) {
				// A keepalive that cannot be answered before the deadline
				// is useless: the loss timer fires first.
				ctx, cancel := context.WithDeadline(context.Background(), deadline)
				defer cancel()
				g, sent, err := l.client.Keepalive(ctx, l.name, l.token)
				kaDone <- kaResult{sent, g, err}
			}(l.deadline)
		case r := <-kaDone:
			inFlight = false
			switch st := agent.StatusOf(r.err); {
			case r.err == nil:
				l.extend(r.sent, r.g)
				lossTimer.Reset(time.Until(l.deadline))
				kaTimer.Reset(l.keepaliveIn())
			case st == http.StatusGone || st == http.StatusConflict:
				return l.lost(cmd, exited, "the agent says the tenure is over: "+r.err.Error())
			default:
				fmt.Fprintf(l.info, "tenure lock: keepalive failed (retrying until the deadline in %v): %v\n",
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

// acquire takes the lease; ok false means exit with code.
func (l *locker) acquire(sigs <-chan os.Signal) (code int, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.wait+30*time.Second)
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-stop:
		}
	}()
	g, sent, err := l.client.Acquire(ctx, l.name, agent.AcquireRequest{
		TTL: agent.Duration(l.opts.ttl), Wait: agent.Duration(l.opts.wait), Value: l.opts.value,
	})
	var ae *agent.APIError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		msg := ae.Response.Error
		if h := ae.Response.Holder; h != nil {
			msg = fmt.Sprintf("held by %s (token %s, about %v left; a hint)", h.Node, h.TokenStr, time.Duration(h.RemainingMS)*time.Millisecond)
		}
		l.errorf("lease %q not acquired within --wait %v: %s", l.name, l.opts.wait, msg)
		return exitNotHeld, false
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		l.errorf("interrupted while waiting for lease %q", l.name)
		return 1, false
	default:
		l.errorf("acquire %q through %s: %v", l.name, l.opts.agentURL, err)
		return 1, false
	}
	l.token, l.ttl = g.Token, time.Duration(g.TTL)
	l.extend(sent, g)
	if time.Until(l.deadline) < l.ttl/2 {
		// A long wait used up the deadline counted from the send: one
		// keepalive measures it afresh before CMD starts.
		kctx, kcancel := context.WithTimeout(context.Background(), max(l.ttl, time.Second))
		g2, sent2, err := l.client.Keepalive(kctx, l.name, l.token)
		kcancel()
		if err != nil {
			l.errorf("lease %q (token %d) lost before the command started: %v", l.name, l.token, err)
			l.release()
			return exitLost, false
		}
		l.extend(sent2, g2)
	}
	if !time.Now().Before(l.deadline) {
		l.errorf("lease %q (token %d) expired before the command started", l.name, l.token)
		return exitLost, false
	}
	fmt.Fprintf(l.info, "tenure lock: holding %q, token %d, ttl %v\n", l.name, l.token, l.ttl)
	return 0, true
}

// lost stops CMD after a loss and returns exitLost.
func (l *locker) lost(cmd *exec.Cmd, exited <-chan error, why string) int {
	l.errorf("LOST lease %q (token %d): %s; stopping the command (SIGTERM, SIGKILL after %v)", l.name, l.token, why, l.opts.grace)
	signalGroup(cmd, syscall.SIGTERM)
	grace := time.NewTimer(l.opts.grace)
	defer grace.Stop()
	reaped := false
	select {
	case <-exited:
		// The leader exited; the rest of its group gets what is left of
		// the grace period.
		reaped = true
		waitGroupGone(cmd, grace.C)
	case <-grace.C:
	}
	signalGroup(cmd, syscall.SIGKILL)
	if !reaped {
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			l.errorf("the command did not exit after SIGKILL")
		}
	}
	return exitLost
}

// release gives the lease back, best effort: if the agent does not answer,
// the lease expires there.
func (l *locker) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.client.Release(ctx, l.name, l.token); err != nil && agent.StatusOf(err) != http.StatusGone {
		l.errorf("release %q (token %d): %v (it expires on its own)", l.name, l.token, err)
	}
}

// exitCode maps CMD's end to tenure lock's exit status.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}

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
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

func init() {
	register("lock", "run a command while holding a lease", runLock)
}

// Exit statuses of tenure lock besides the command's own (the defaults of
// --exit-lost, --exit-not-held and --exit-unavailable).
const (
	exitLost        = 3 // the lease was lost while the command ran
	exitNotHeld     = 4 // the lease could not be had within --wait
	exitUnavailable = 5 // the cluster could not serve: too few voters answered (503)
)

// Outcomes written to --status-file.
const (
	outcomeDone    = "done"        // the command ran to its end under the lease
	outcomeLost    = "lost"        // the lease was lost; the command was stopped
	outcomeNotHeld = "not-held"    // the lease could not be had within --wait
	outcomeUnavail = "unavailable" // too few voters answered (no quorum, quarantine)
	outcomeError   = "error"       // the agent could not be reached, or CMD could not start
)

const lockAbout = `
Acquires the lease NAME through the agent, runs CMD with TENURE_LEASE and
TENURE_TOKEN (the fencing token) in its environment, keeps the lease alive
while CMD runs, and releases it once CMD and every process it started are
gone. CMD is looked up (in PATH) before the lease is asked for: a typo
costs nobody a tenure. NAME comes before "--"; "tenure lock -- CMD" is
refused.

Semaphores: with --slots N, NAME is a semaphore of N slots: tenure lock
takes any free slot (a lease of its own, NAME#i, with its own fencing
token) and waits, within --wait, for one to free up. TENURE_LEASE names
the slot. At most N commands run at once under one NAME, like consul
lock -n N.

What it waits for: CMD runs as the leader of its own process group. On
Linux tenure lock is a child subreaper, so every process CMD starts stays
its descendant even if it moves to another group or session; the lease is
released when CMD has exited, no descendant is left and CMD's group is
empty. On other systems, when CMD has exited and its group is empty (a
process that leaves the group is neither waited for nor signalled).

Deadline and signals: tenure lock computes its own deadline from the
instant it SENT each request to the agent plus the agent's deadline_ms, the
latest over the answers. If the agent says the tenure is over, CMD's
processes get SIGTERM at once; if no renewal is confirmed, SIGTERM comes
--grace before the deadline. SIGKILL follows --grace after SIGTERM and in
any case before the deadline (aimed max(TTL/50, 50ms), at most TTL/4,
before it, to absorb timer lateness): a command that ignores SIGTERM is
dead before the lease can pass to another holder. The grace is at most a third of the TTL, so
that one failed keepalive does not stop CMD. SIGINT, SIGTERM and SIGHUP
sent to tenure lock are passed on to all of CMD's processes.

If tenure lock cannot act: a guard process (a second tenure, started with
CMD, in tenure lock's own process group) is told every new deadline and
sends CMD's process group SIGKILL at it unless told a later one. So if
tenure lock is stopped alone (kill -STOP of its pid, a debugger) or killed
with SIGKILL, CMD's group is still dead before the lease can pass on (on
Linux a SIGKILL of tenure lock also sends CMD SIGKILL at once: a
parent-death signal). Processes that left CMD's group survive both; if that
matters, do not let CMD leave its group, or run tenure lock where its
whole cgroup is killed (a systemd unit, a container). A ^Z stops the guard
with tenure lock.

Terminal: when tenure lock runs in the foreground of its terminal, CMD's
group gets the terminal (CMD can read it; ^C and ^Z go to CMD), and tenure
lock takes it back once the group is gone. On ^Z (Linux, under a shell
with job control) tenure lock stops CMD's whole group and suspends with
it; the lease is not renewed meanwhile. On fg, CMD continues if the
deadline has not passed; otherwise it is killed without running again and
tenure lock exits 3. Elsewhere, or when CMD has processes outside its
group, ^Z is refused: CMD is continued.

Exit status: CMD's own (128+N if signal N killed it); 3 (--exit-lost) if
the lease was lost and CMD was stopped; 4 (--exit-not-held) if the lease
could not be had within --wait; 5 (--exit-unavailable) if the cluster
could not serve the request (HTTP 503: too few voters answered, a
quarantine, the agent shutting down); 1 if the agent could not be reached or CMD
could not start; 2 for bad usage, a request the agent refused as bad
(400: a --ttl above the agent's --max-ttl, say) included. CMD's own statuses look the same. To
tell them apart, set --exit-lost, --exit-not-held and --exit-unavailable to codes CMD never
uses, or read --status-file: tenure lock writes it (replacing it) as one
line "OUTCOME CODE", OUTCOME being done (CMD ran to its end under the
lease and CODE is its status), lost, not-held, unavailable or error; bad usage writes
nothing. tenure lock's own stderr lines start with "tenure lock: "
("tenure lock: LOST", "tenure lock: NOT HELD"), but CMD writes to the same
stderr: read them as a person, not from a script.`

// lockOpts are the flags of tenure lock.
type lockOpts struct {
	agentURL, tokenFile string
	ttl, wait, grace    time.Duration
	value               string
	quiet               bool
	exitLost            int
	exitNotHeld         int
	exitUnavailable     int
	statusFile          string
	slots               int
}

func newLockFlags(o *lockOpts) *cmdFlags {
	f := newCmdFlags("lock", "tenure lock [flags] NAME -- CMD [ARGS...]", lockAbout)
	addAgentFlags(f, &o.agentURL, &o.tokenFile)
	f.DurationVar(&o.ttl, "ttl", 0, "lease TTL (default: the agent's)")
	f.DurationVar(&o.wait, "wait", 0, "how long to wait for the lease if another holds it (0: try once)")
	f.DurationVar(&o.grace, "grace", 5*time.Second, "how long CMD has between SIGTERM and SIGKILL (at most a third of the TTL)")
	f.StringVar(&o.value, "value", "", "a value stored with the lease for holder queries (e.g. this host's address)")
	f.BoolVar(&o.quiet, "quiet", false, "print nothing but errors")
	f.IntVar(&o.exitLost, "exit-lost", exitLost, "exit status when the lease is lost (1-255)")
	f.IntVar(&o.exitNotHeld, "exit-not-held", exitNotHeld, "exit status when the lease cannot be had within --wait (1-255)")
	f.IntVar(&o.exitUnavailable, "exit-unavailable", exitUnavailable, "exit status when the cluster cannot serve: no quorum of voters, a quarantine (1-255)")
	f.StringVar(&o.statusFile, "status-file", "", "`file` to write the outcome to at exit: \"done|lost|not-held|unavailable|error CODE\"")
	f.IntVar(&o.slots, "slots", 0, "take any free one of N slots of NAME, a semaphore (like consul lock -n); TENURE_LEASE names the slot, NAME#i")
	return f
}

// runLock is tenure lock. It owns the process: it makes it a child
// subreaper and reaps every child (Linux), so it must not run inside a
// process that has children of its own to wait for.
func runLock(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == guardArg {
		return runLockGuard(args[1:], stderr)
	}
	var o lockOpts
	f := newLockFlags(&o)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	rest := f.Args()
	if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
		// The flag parser ate a "--" right before what it left: NAME came
		// after it, so NAME would be the command's name.
		return f.fail(stderr, "\"--\" comes after NAME: tenure lock [flags] NAME -- CMD [ARGS...]")
	}
	if len(rest) < 1 {
		return f.fail(stderr, "missing lease NAME")
	}
	name, cmdArgs := rest[0], rest[1:]
	if err := api.CheckName(name); err != nil {
		return f.fail(stderr, "lease NAME: %v", err)
	}
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
	case o.exitLost < 1 || o.exitLost > 255:
		return f.fail(stderr, "--exit-lost %d: want 1 to 255", o.exitLost)
	case o.exitNotHeld < 1 || o.exitNotHeld > 255:
		return f.fail(stderr, "--exit-not-held %d: want 1 to 255", o.exitNotHeld)
	case o.exitUnavailable < 1 || o.exitUnavailable > 255:
		return f.fail(stderr, "--exit-unavailable %d: want 1 to 255", o.exitUnavailable)
	case o.exitLost == o.exitNotHeld:
		return f.fail(stderr, "--exit-lost and --exit-not-held are both %d: they must differ", o.exitLost)
	case o.exitUnavailable == o.exitLost || o.exitUnavailable == o.exitNotHeld:
		return f.fail(stderr, "--exit-unavailable %d equals --exit-lost or --exit-not-held: they must differ", o.exitUnavailable)
	case o.slots < 0 || o.slots > node.MaxSlots:
		return f.fail(stderr, "--slots %d: want 0 (a plain lease) to %d", o.slots, node.MaxSlots)
	}
	if o.statusFile != "" {
		if st, err := os.Stat(filepath.Dir(o.statusFile)); err != nil || !st.IsDir() {
			return f.fail(stderr, "--status-file %q: its directory does not exist", o.statusFile)
		}
	}
	client, err := f.newClient(o.agentURL, o.tokenFile)
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
	client *api.Client
	stderr io.Writer
	info   io.Writer // progress messages

	token    uint64
	key      string // the lease key: proof of holding for keepalive and release
	ttl      time.Duration
	deadline time.Time // this process's own deadline: send time + deadline_ms

	grace      time.Duration // --grace, at most a third of the TTL
	killMargin time.Duration // SIGKILL is aimed this long before the deadline

	guard *lockGuard // kills the command at the deadline if this process cannot; nil if it did not start
}

func (l *locker) errorf(format string, args ...any) {
	fmt.Fprintf(l.stderr, "tenure lock: "+format+"\n", args...)
}

// extend moves the deadline to sent+g.DeadlineMS if that is later. Each
// such instant is no later than the agent's own deadline, because the
// agent computed deadline_ms after the request was sent (R16).
func (l *locker) extend(sent time.Time, g api.Grant) {
	if d := sent.Add(time.Duration(g.DeadlineMS) * time.Millisecond); d.After(l.deadline) {
		l.deadline = d
		l.guard.tell(l.deadline.Add(-l.killMargin))
	}
}

func (l *locker) run(cmdArgs []string, stdout io.Writer) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	// Find CMD before taking the lease: a typo costs nobody a tenure.
	path, err := exec.LookPath(cmdArgs[0])
	if err != nil {
		l.errorf("cannot start %s: %v", cmdArgs[0], err)
		return l.finish(outcomeError, 1)
	}
	if code, ok := l.acquire(sigs); !ok {
		return code
	}
	l.grace = min(l.opts.grace, l.ttl/3)
	l.killMargin = min(max(l.ttl/50, 50*time.Millisecond), l.ttl/4)
	capped := ""
	if l.grace < l.opts.grace {
		capped = fmt.Sprintf(" (--grace %v capped at a third of the TTL)", l.opts.grace)
	}
	fmt.Fprintf(l.info, "tenure lock: holding %q, token %d, ttl %v, grace %v%s\n", l.name, l.token, l.ttl, l.grace.Round(time.Millisecond), capped)

	spec := treeSpec{path: path, argv: cmdArgs, tty: foregroundTTY(),
		env: append(os.Environ(), "TENURE_LEASE="+l.name, "TENURE_TOKEN="+strconv.FormatUint(l.token, 10))}
	outFD, outW, outWait, err1 := stdioFile(stdout)
	errFD, errW, errWait, err2 := stdioFile(l.stderr)
	if err := errors.Join(err1, err2); err != nil {
		l.errorf("cannot start %s: %v", cmdArgs[0], err)
		l.release()
		return l.finish(outcomeError, 1)
	}
	spec.files = []uintptr{os.Stdin.Fd(), outFD, errFD}
	restore := catchStops() // from the last check of the deadline until CMD runs
	var tree *procTree
	if l.confirm() {
		tree, err = startTree(spec)
	}
	restore()
	for _, w := range []*os.File{outW, errW} {
		if w != nil {
			w.Close()
		}
	}
	if tree == nil && err == nil {
		return l.finish(outcomeLost, l.opts.exitLost)
	}
	if spec.tty >= 0 {
		holdBackground()
	}
	if err != nil {
		if spec.tty >= 0 {
			_ = takeTerminal(spec.tty) // the child may have taken it before exec failed
		}
		l.errorf("cannot start %s: %v", cmdArgs[0], err)
		l.release()
		return l.finish(outcomeError, 1)
	}
	if l.guard, err = startLockGuard(tree.pgid, l.stderr); err != nil {
		l.errorf("no guard process (%v): if tenure lock is stopped or killed, nothing stops the command at the deadline", err)
	} else {
		l.guard.tell(l.deadline.Add(-l.killMargin))
	}
	outcome, code := l.hold(tree, sigs)
	l.guard.close()
	for _, wait := range []func(){outWait, errWait} {
		if wait != nil {
			wait()
		}
	}
	return l.finish(outcome, code)
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
	g, sent, err := l.client.Acquire(ctx, l.name, api.AcquireRequest{
		TTL: api.Duration(l.opts.ttl), Wait: api.Duration(l.opts.wait), Value: l.opts.value, Slots: l.opts.slots,
	})
	var ae *api.APIError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		// The agent refused the request itself (a TTL beyond its --max-ttl,
		// a name too long for --slots): bad usage, like a bad flag.
		fmt.Fprintf(l.stderr, "tenure lock: the agent refused the request: %s\nRun 'tenure lock --help' for usage.\n", ae.Response.Error)
		return exitUsage, false
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		msg := ae.Response.Error
		if h := ae.Response.Holder; h != nil {
			msg = fmt.Sprintf("held by %s (token %s, about %v left; a hint)", h.Node, h.TokenStr, time.Duration(h.RemainingMS)*time.Millisecond)
		}
		l.errorf("NOT HELD: lease %q not acquired within --wait %v: %s", l.name, l.opts.wait, msg)
		return l.finish(outcomeNotHeld, l.opts.exitNotHeld), false
	case errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable:
		l.errorf("UNAVAILABLE: lease %q: the cluster cannot serve: %s", l.name, ae.Response.Error)
		return l.finish(outcomeUnavail, l.opts.exitUnavailable), false
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		l.errorf("interrupted while waiting for lease %q", l.name)
		return l.finish(outcomeError, 1), false
	default:
		l.errorf("acquire %q through %s: %v", l.name, l.opts.agentURL, err)
		return l.finish(outcomeError, 1), false
	}
	l.token, l.key, l.ttl = g.Token, g.LeaseKey, time.Duration(g.TTL)
	if l.opts.slots > 0 && g.Name != "" {
		l.name = g.Name // the slot, NAME#i: keepalives, the release and TENURE_LEASE name it
	}
	l.extend(sent, g)
	return 0, true
}

// confirm makes sure, right before CMD starts, that at least half the TTL
// is left: a long wait (or tenure lock being stopped meanwhile) may have
// used up the deadline counted from the acquire's send, so one keepalive
// measures it afresh. ok false means the lease is lost.
func (l *locker) confirm() (ok bool) {
	if time.Until(l.deadline) >= l.ttl/2 {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(l.ttl, time.Second))
	g, sent, err := l.client.Keepalive(ctx, l.name, l.token, l.key)
	cancel()
	if err != nil {
		l.errorf("LOST lease %q (token %d) before the command started: %v", l.name, l.token, err)
		l.release()
		return false
	}
	l.extend(sent, g)
	if !time.Now().Before(l.deadline) {
		l.errorf("LOST lease %q (token %d): it expired before the command started", l.name, l.token)
		return false
	}
	return true
}

// release gives the lease back, best effort: if the agent does not answer,
// the lease expires there.
func (l *locker) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.client.Release(ctx, l.name, l.token, l.key); err != nil && api.StatusOf(err) != http.StatusGone {
		l.errorf("release %q (token %d): %v (it expires on its own)", l.name, l.token, err)
	}
}

// finish writes the outcome to --status-file, if set, and returns code.
func (l *locker) finish(outcome string, code int) int {
	if l.opts.statusFile == "" {
		return code
	}
	if err := writeFileAtomic(l.opts.statusFile, fmt.Sprintf("%s %d\n", outcome, code)); err != nil {
		l.errorf("--status-file: %v", err)
	}
	return code
}

// writeFileAtomic replaces path with text: a reader sees the old file or
// the whole new one.
func writeFileAtomic(path, text string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tenure-lock-status-*")
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// exitCode maps the command's wait status to tenure lock's exit status:
// its own code, or 128+N if signal N killed it.
func exitCode(ws *syscall.WaitStatus) int {
	switch {
	case ws == nil:
		return 1 // the command's status was lost: not expected
	case ws.Signaled():
		return 128 + int(ws.Signal())
	default:
		return ws.ExitStatus()
	}
}

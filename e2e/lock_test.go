//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/internal/lockworker"
	"golang.org/x/sys/unix"
)

// workerArg makes this test binary run as a command under tenure lock
// instead of running tests: self workerArg LOG [OPTION...].
const workerArg = "tenure-e2e-worker"

func init() {
	if len(os.Args) > 1 && os.Args[1] == workerArg {
		os.Exit(lockworker.Run(os.Args[2:]))
	}
}

// self is this test binary, for commands that run worker.
func self(t *testing.T) string {
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// workerLog is what a worker wrote: its pid, the first and the last
// instant it wrote, and its events in order.
type workerLog struct {
	pid         int
	first, last time.Time
	events      []string
	at          []time.Time
}

func readWorker(path string) workerLog {
	var w workerLog
	b, _ := os.ReadFile(path)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue // a line being written
		}
		ns, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			continue
		}
		at := time.Unix(0, ns)
		if w.pid == 0 {
			w.pid, _ = strconv.Atoi(f[1])
			w.first = at
		}
		w.last = at
		w.events, w.at = append(w.events, f[0]), append(w.at, at)
	}
	return w
}

// secondAfterFirst waits for the second tenure lock to exit 0, and fails
// the test unless its command (log second) started after the first
// command's (log first) last sign of life. It returns both logs.
func secondAfterFirst(t *testing.T, lk2 *lockProc, first, second string) (f, s workerLog) {
	t.Helper()
	if code, text := lk2.wait(t); code != 0 {
		t.Fatalf("second tenure lock: exit %d, stderr:\n%s", code, text)
	}
	f, s = readWorker(first), readWorker(second)
	if !s.first.After(f.last) {
		t.Fatalf("two holders: the second command started %v before the first command's last sign of life", f.last.Sub(s.first))
	}
	return f, s
}

// has reports whether the log holds ev, and its first instant.
func (w workerLog) has(ev string) (time.Time, bool) {
	for i, e := range w.events {
		if e == ev {
			return w.at[i], true
		}
	}
	return time.Time{}, false
}

func waitStarted(t *testing.T, path string, stop <-chan struct{}) workerLog {
	t.Helper()
	waitFor(t, "the worker writing "+filepath.Base(path), func() bool { return readWorker(path).pid != 0 }, stop)
	return readWorker(path)
}

// TestLockWaitsForBackgroundChild: a command that exits at once, leaving
// a child in its group and one that moved to a session of its own, both
// still working. A second tenure lock on the same name must not start its
// command until both are gone.
func TestLockWaitsForBackgroundChild(t *testing.T) {
	p := startAgent(t, "solo", []string{"solo"}, "", "--ttl", "1s")
	dir := t.TempDir()
	child, stray, second := filepath.Join(dir, "child"), filepath.Join(dir, "stray"), filepath.Join(dir, "second")
	lk1 := startLock(t, "--agent", p.http, "--ttl", "1s", "bg-job", "--", "sh", "-c",
		`"$0" `+workerArg+` "$1" for=1500ms & "$0" `+workerArg+` "$2" setsid for=2s & exit 0`, self(t), child, stray)
	waitStarted(t, child, lk1.done)
	waitStarted(t, stray, lk1.done)
	lk2 := startLock(t, "--agent", p.http, "--wait", "30s", "bg-job", "--", self(t), workerArg, second, "for=10ms")
	if code, text := lk1.wait(t); code != 0 || !strings.Contains(text, "holding the lease until its processes") {
		t.Fatalf("first tenure lock: exit %d, stderr:\n%s", code, text)
	}
	if code, text := lk2.wait(t); code != 0 {
		t.Fatalf("second tenure lock: exit %d, stderr:\n%s", code, text)
	}
	s := readWorker(second)
	for _, path := range []string{child, stray} {
		w := readWorker(path)
		end, ok := w.has("end")
		if !ok {
			t.Fatalf("%s did not run to its end: %v", filepath.Base(path), w.events)
		}
		if !s.first.After(end) {
			t.Fatalf("the second holder's command started %v before the first's %s ended", end.Sub(s.first), filepath.Base(path))
		}
		t.Logf("second holder started %v after the first's %s ended", s.first.Sub(end), filepath.Base(path))
	}
}

// TestLockKill9: SIGKILL of tenure lock kills its command (Linux's
// parent-death signal), and a second holder's command starts only after
// the first command's last sign of life.
func TestLockKill9(t *testing.T) {
	p := startAgent(t, "solo", []string{"solo"}, "", "--ttl", "1s")
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	lk1 := startLock(t, "--agent", p.http, "--ttl", "1s", "k9-job", "--", self(t), workerArg, first)
	w := waitStarted(t, first, lk1.done)
	lk2 := startLock(t, "--agent", p.http, "--wait", "30s", "k9-job", "--", self(t), workerArg, second, "for=10ms")
	if err := lk1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the command of the killed tenure lock to die", func() bool { return !alive(w.pid) }, nil)
	f, s := secondAfterFirst(t, lk2, first, second)
	t.Logf("the second holder's command started %v after the first command's last sign of life", s.first.Sub(f.last))
}

// TestLockIgnoredSIGTERM: a command that ignores SIGTERM under a lease
// whose agent stops answering (SIGSTOP) gets SIGTERM, then SIGKILL before
// the deadline; a client of another agent waiting for the lease starts
// its command only after the first command's last sign of life. Exit
// status and status file say "lost" with the code chosen by --exit-lost.
func TestLockIgnoredSIGTERM(t *testing.T) {
	ps := cluster(t, "--ttl", "2s")
	a, b := ps["a"], ps["b"]
	dir := t.TempDir()
	first, second, status := filepath.Join(dir, "first"), filepath.Join(dir, "second"), filepath.Join(dir, "status")
	lk1 := startLock(t, "--agent", a.http, "--ttl", "2s", "--grace", "5s", "--exit-lost", "70", "--status-file", status,
		"term-job", "--", self(t), workerArg, first, "ignore-term")
	w := waitStarted(t, first, lk1.done)
	lk2 := startLock(t, "--agent", b.http, "--wait", "30s", "term-job", "--", self(t), workerArg, second, "for=10ms")
	a.signal(syscall.SIGSTOP)
	t.Cleanup(func() { a.signal(syscall.SIGCONT) })
	code, text := lk1.wait(t)
	st, _ := os.ReadFile(status)
	if code != 70 || strings.TrimSpace(string(st)) != "lost 70" || !strings.Contains(text, "LOST") {
		t.Fatalf("first tenure lock: exit %d, status %q; want 70 and \"lost 70\"; stderr:\n%s", code, st, text)
	}
	if alive(w.pid) {
		t.Fatalf("the command (pid %d) outlived its tenure lock", w.pid)
	}
	f, s := secondAfterFirst(t, lk2, first, second)
	term, ok := f.has("term")
	if !ok {
		t.Fatalf("the first command got no SIGTERM: %d events", len(f.events))
	}
	t.Logf("first command: SIGTERM, then alive %v more; second holder started %v after its last sign of life",
		f.last.Sub(term), s.first.Sub(f.last))
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// ptySession is a process started as the leader of a new session whose
// controlling terminal is a pseudo-terminal, as a login shell is.
type ptySession struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	screen bytes.Buffer
}

func startPTY(t *testing.T, env []string, argv ...string) *ptySession {
	t.Helper()
	master, slave := openPTY(t)
	s := &ptySession{t: t, master: master, cmd: exec.Command(argv[0], argv[1:]...), exited: make(chan struct{})}
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = slave, slave, slave
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			s.mu.Lock()
			s.screen.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
		master.Close()
		if t.Failed() {
			t.Logf("terminal:\n%s", s.text())
		}
	})
	return s
}

func (s *ptySession) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.screen.String()
}

// typeIn writes keys to the terminal.
func (s *ptySession) typeIn(keys string) {
	s.t.Helper()
	if _, err := s.master.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
}

// waitScreen waits until the terminal showed want (after what it showed
// when mark was taken).
func (s *ptySession) waitScreen(want string, mark int) {
	s.t.Helper()
	waitFor(s.t, "the terminal to show "+strconv.Quote(want), func() bool { return strings.Contains(s.text()[mark:], want) }, s.exited)
}

func fileHas(path, s string) bool {
	b, _ := os.ReadFile(path)
	return strings.Contains(string(b), s)
}

// TestLockTerminal runs tenure lock from a shell on a pseudo-terminal: the
// command reads a line from the terminal (it must be the foreground
// group, or SIGTTIN stops it), and after tenure lock exits the shell reads
// the next line (tenure lock gave the terminal back, or the read fails).
// The shell leads the session without job control, so no one could
// continue a stopped job: a ^Z is refused (the command continues).
func TestLockTerminal(t *testing.T) {
	p := startAgent(t, "solo", []string{"solo"}, "", "--ttl", "1s")
	dir := t.TempDir()
	cmdOut, shellOut := filepath.Join(dir, "cmd"), filepath.Join(dir, "shell")
	script := `"$TENURE" lock --agent "$AGENT" tty-job -- sh -c 'echo "command runs"; read line; echo "cmd:$line" > "$0"' "$CMD_OUT"
echo "lock:$?" >> "$SHELL_OUT"
read line && echo "shell:$line" >> "$SHELL_OUT"
`
	s := startPTY(t, []string{"TENURE=" + binary, "AGENT=" + p.http, "CMD_OUT=" + cmdOut, "SHELL_OUT=" + shellOut}, "sh", "-c", script)
	s.waitScreen("\ncommand runs", 0)
	s.typeIn("\x1a") // ^Z
	s.waitScreen("not suspending (no job control here); continuing the command", 0)
	s.typeIn("first\n")
	waitFor(t, "the command to read the terminal", func() bool { return fileHas(cmdOut, "cmd:first") }, s.exited)
	waitFor(t, "tenure lock to exit 0", func() bool { return fileHas(shellOut, "lock:0") }, s.exited)
	s.typeIn("second\n")
	select {
	case <-s.exited:
	case <-time.After(generous):
		t.Fatal("the shell did not finish")
	}
	if !fileHas(shellOut, "shell:second") {
		b, _ := os.ReadFile(shellOut)
		t.Fatalf("the shell could not read the terminal after tenure lock: %q", b)
	}
}

// TestLockTerminalSuspend runs tenure lock under an interactive bash and
// presses ^Z: tenure lock suspends with its command and bash gets the
// terminal back. After fg within the deadline the command reads the
// terminal and ends normally; after fg past the deadline (the agent shows
// the lease free) the command never runs again and tenure lock exits 3.
func TestLockTerminalSuspend(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	p := startAgent(t, "solo", []string{"solo"}, "", "--ttl", "1s")
	for _, late := range []bool{false, true} {
		t.Run(map[bool]string{false: "fg-in-time", true: "fg-too-late"}[late], func(t *testing.T) {
			dir := t.TempDir()
			cmdOut, shellOut := filepath.Join(dir, "cmd"), filepath.Join(dir, "shell")
			name := fmt.Sprintf("tstp-%v", late)
			s := startPTY(t, []string{"TENURE=" + binary, "AGENT=" + p.http, "CMD_OUT=" + cmdOut, "SHELL_OUT=" + shellOut,
				"PS1=$ ", "HISTFILE=/dev/null", "LEASE=" + name}, bash, "--norc", "--noprofile", "-i")
			s.typeIn(`"$TENURE" lock --agent "$AGENT" --ttl 2s "$LEASE" -- sh -c 'echo "command runs"; read line; echo "cmd:$line" > "$CMD_OUT"'` + "\n")
			// Typed before the command runs, ^Z would reach tenure lock
			// starting it, which lets it pass (see catchStops).
			s.waitScreen("\ncommand runs", 0)
			mark := len(s.text())
			s.typeIn("\x1a") // ^Z
			s.waitScreen("suspending with the command", mark)
			s.waitScreen("Stopped", mark)
			if late {
				waitFor(t, "the lease to be free at the agent", func() bool {
					return call(t, "GET", p.http+"/v1/leases/"+name, "", nil) == 404
				}, s.exited)
			}
			mark = len(s.text())
			s.typeIn(`fg; echo "lock:$?" > "$SHELL_OUT"` + "\n") // fg's status is the job's
			if late {
				waitFor(t, "tenure lock to exit", func() bool { return fileHas(shellOut, "lock:") }, s.exited)
				if !fileHas(shellOut, "lock:3") || !strings.Contains(s.text()[mark:], "continued after the deadline") {
					b, _ := os.ReadFile(shellOut)
					t.Fatalf("fg past the deadline: %q, want lock:3 and the command killed", b)
				}
				if _, err := os.Stat(cmdOut); err == nil {
					t.Fatal("the command ran on after the deadline")
				}
			} else {
				s.waitScreen("continued, and so is the command", mark)
				s.typeIn("first\n")
				waitFor(t, "the command to read the terminal", func() bool { return fileHas(cmdOut, "cmd:first") }, s.exited)
				waitFor(t, "tenure lock to exit 0", func() bool { return fileHas(shellOut, "lock:0") }, s.exited)
			}
			s.typeIn("exit\n")
			select {
			case <-s.exited:
			case <-time.After(generous):
				t.Fatal("bash did not exit")
			}
		})
	}
}

// TestLockExitStatusAcrossAgent: the command's own 3 and 4 come back as
// "done" in the status file, tenure lock's refusal as "not-held" with the
// code --exit-not-held chose.
func TestLockExitStatusAcrossAgent(t *testing.T) {
	p := startAgent(t, "solo", []string{"solo"}, "", "--ttl", "1s")
	dir := t.TempDir()
	status := filepath.Join(dir, "status")
	read := func() string { b, _ := os.ReadFile(status); return strings.TrimSpace(string(b)) }
	for _, own := range []int{3, 4} {
		lk := startLock(t, "--agent", p.http, "--status-file", status, "exit-job", "--", "sh", "-c", fmt.Sprintf("exit %d", own))
		if code, text := lk.wait(t); code != own || read() != fmt.Sprintf("done %d", own) {
			t.Fatalf("command exiting %d: exit %d, status %q; stderr:\n%s", own, code, read(), text)
		}
	}
	holder := filepath.Join(dir, "holder")
	lk := startLock(t, "--agent", p.http, "exit-job", "--", self(t), workerArg, holder)
	waitStarted(t, holder, lk.done)
	for _, c := range []struct {
		args []string
		code int
	}{{nil, 4}, {[]string{"--exit-not-held", "75"}, 75}} {
		args := append(append([]string{"--agent", p.http, "--status-file", status}, c.args...), "exit-job", "--", "true")
		refused := startLock(t, args...)
		if code, text := refused.wait(t); code != c.code || read() != fmt.Sprintf("not-held %d", c.code) || !strings.Contains(text, "NOT HELD") {
			t.Fatalf("tenure lock %v on a held lease: exit %d, status %q; want %d; stderr:\n%s", c.args, code, read(), c.code, text)
		}
	}
}

// TestLockAgentSIGTERM: a command under tenure lock through agent b keeps
// running after b gets SIGTERM (tenure lock retries keepalives until its
// own deadline, then stops the command), and tenure lock through agent c,
// waiting for the lease, starts its command only after the first command
// ended, and does start it (failover stays prompt).
func TestLockAgentSIGTERM(t *testing.T) {
	ps := cluster(t, "--ttl", "3s")
	b, c := ps["b"], ps["c"]
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	lk1 := startLock(t, "--agent", b.http, "--ttl", "3s", "--grace", "1s", "sigterm-job", "--", self(t), workerArg, first)
	waitStarted(t, first, lk1.done)
	lk2 := startLock(t, "--agent", c.http, "--wait", "30s", "sigterm-job", "--", self(t), workerArg, second, "for=10ms")
	b.signal(syscall.SIGTERM)
	if code := b.wait(); code != 0 {
		t.Fatalf("agent b after SIGTERM: exit %d", code)
	}
	stopped := time.Now()
	code, text := lk1.wait(t)
	if code != 3 {
		t.Fatalf("tenure lock through the stopped agent: exit %d, want 3; stderr:\n%s", code, text)
	}
	f, s := secondAfterFirst(t, lk2, first, second)
	if !f.last.After(stopped) {
		t.Fatalf("the command did not run on after its agent stopped (last sign of life %v before)", stopped.Sub(f.last))
	}
	t.Logf("b's command ran %v after b stopped; c's command started %v after it ended (%v after b stopped)",
		f.last.Sub(stopped), s.first.Sub(f.last), s.first.Sub(stopped))
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the tenure binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tenure-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tenure")
	build := exec.Command("go", "build", "-o", binary, "github.com/tenure-dev/tenure/cmd/tenure")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// generous is the deadline for any one step: tests assert outcomes, and a
// busy machine only makes them slower.
const generous = 30 * time.Second

// proc is an agent process.
type proc struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	dataDir string
	logPath string
	ready   string // its --ready-file
	http    string // base URL
	gossip  string
	exited  chan struct{}
	err     error // set when exited closes
}

// startAgent runs tenure agent name with the given voters, joining join
// (if not empty), on a data dir of its own, and waits until it has written
// its ready file. The agents it starts form a new cluster (--new-cluster).
func startAgent(t *testing.T, name string, voters []string, join string, extra ...string) *proc {
	t.Helper()
	p := launchAgent(t, name, voters, join, "", append([]string{"--new-cluster"}, extra...)...)
	p.waitReady()
	return p
}

// launchAgent runs tenure agent name with the given voters, joining join
// (if not empty), without waiting for it. dataDir "" gives it a new data
// dir of its own; "-" gives it none. extra flags come last.
func launchAgent(t *testing.T, name string, voters []string, join, dataDir string, extra ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	if dataDir == "" {
		dataDir = filepath.Join(dir, "data")
	}
	p := &proc{t: t, name: name, dataDir: dataDir, logPath: filepath.Join(dir, "agent.log"), ready: filepath.Join(dir, "ready.json"), exited: make(chan struct{})}
	args := []string{"agent", "--name", name, "--voters", strings.Join(voters, ","),
		"--bind", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--ready-file", p.ready, "--log-level", "debug"}
	if dataDir != "-" {
		args = append(args, "--data-dir", dataDir)
	}
	if join != "" {
		args = append(args, "--join", join)
	}
	args = append(args, extra...)
	p.start(binary, args...)
	return p
}

// start runs path with args as the agent process p, its output in
// p.logPath; the test's cleanup kills it and, if the test failed, shows
// the end of its log.
func (p *proc) start(path string, args ...string) {
	t := p.t
	t.Helper()
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(path, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start agent %s: %v", p.name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.exited
		if t.Failed() {
			b, _ := os.ReadFile(p.logPath)
			t.Logf("agent %s log (last 3000 bytes):\n%s", p.name, tail(b, 3000))
		}
	})
}

// waitReady waits until the agent has written its ready file.
func (p *proc) waitReady() {
	p.t.Helper()
	waitFor(p.t, "agent "+p.name+" ready file", func() bool {
		b, err := os.ReadFile(p.ready)
		if err != nil {
			return false
		}
		var info struct{ HTTP, Gossip string }
		if json.Unmarshal(b, &info) != nil {
			return false
		}
		p.http, p.gossip = info.HTTP, info.Gossip
		return true
	}, p.exited)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (p *proc) signal(s syscall.Signal) {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(s)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(generous):
		p.t.Fatalf("agent %s did not exit", p.name)
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitFor polls cond until it holds; it fails the test at the deadline or
// if stop closes first.
func waitFor(t *testing.T, what string, cond func() bool, stop <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(generous)
	for !cond() {
		select {
		case <-stop:
			t.Fatalf("gave up waiting for %s: the process exited", what)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling, not waiting out a duration
	}
}

// call sends one API request and decodes the JSON answer into out (if not
// nil); it returns the status.
func call(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	return callKey(t, method, url, body, "", out)
}

// callKey is call with the lease key in the Tenure-Lease-Key header, if
// key is not empty.
func callKey(t *testing.T, method, url, body, key string, out any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Tenure-Lease-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d, bad JSON %q: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// grant is the part of an acquire answer the tests read.
type grant struct {
	Name       string `json:"name"`
	Token      uint64 `json:"token,string"`
	TokenStr   string `json:"token_str"`
	LeaseKey   string `json:"lease_key"`
	DeadlineMS int64  `json:"deadline_ms"`
	Error      string `json:"error"`
	Holder     *struct {
		Node  string `json:"node"`
		Token uint64 `json:"token,string"`
	} `json:"holder"`
}

// cluster starts voters a, b and c as separate processes and waits until
// each sees all three alive.
func cluster(t *testing.T, extra ...string) map[string]*proc {
	t.Helper()
	voters := []string{"a", "b", "c"}
	ps := map[string]*proc{}
	ps["a"] = startAgent(t, "a", voters, "", extra...)
	ps["b"] = startAgent(t, "b", voters, ps["a"].gossip, extra...)
	ps["c"] = startAgent(t, "c", voters, ps["a"].gossip, extra...)
	for _, p := range ps {
		waitFor(t, "agent "+p.name+" to see three voters", func() bool {
			var m struct {
				Quorum struct{ Alive int } `json:"quorum"`
			}
			return call(t, "GET", p.http+"/v1/members", "", &m) == 200 && m.Quorum.Alive == 3
		}, p.exited)
	}
	// Each voter's start is confirmed by the other two (R18) before a test
	// stops one of them: a voter still waiting for a peer that stops sits
	// out a whole quarantine, which would make a test about something else
	// depend on how fast the machine ran the three starts.
	for _, p := range ps {
		p.waitServing()
	}
	return ps
}

// waitServing waits until the agent's GET /readyz answers 200: a majority
// of voters answers it and it is out of quarantine (a start is in
// quarantine until its peers confirmed it).
func (p *proc) waitServing() {
	p.t.Helper()
	waitFor(p.t, "agent "+p.name+" /readyz 200", func() bool {
		return call(p.t, "GET", p.http+"/readyz", "", nil) == 200
	}, p.exited)
}

// lockProc is a running tenure lock, its stderr collected line by line.
type lockProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

func startLock(t *testing.T, args ...string) *lockProc {
	t.Helper()
	l := &lockProc{cmd: exec.Command(binary, append([]string{"lock"}, args...)...), done: make(chan struct{})}
	pipe, err := l.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			l.mu.Lock()
			l.stderr.WriteString(sc.Text() + "\n")
			l.mu.Unlock()
		}
		_ = l.cmd.Wait()
		close(l.done)
	}()
	t.Cleanup(func() {
		select {
		case <-l.done:
		default:
			_ = l.cmd.Process.Kill()
			<-l.done
		}
	})
	return l
}

// wait returns the exit code and stderr of the lock process.
func (l *lockProc) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(generous):
		t.Fatalf("tenure lock did not exit; stderr:\n%s", l.text())
	}
	return l.cmd.ProcessState.ExitCode(), l.text()
}

func (l *lockProc) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stderr.String()
}

// alive reports whether pid names a running process (a zombie that is
// not reaped yet counts as dead).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil // no /proc: best effort
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// callNoFatal is call for goroutines other than the test's: it returns 0
// on a transport error instead of failing the test.
func callNoFatal(method, url, body string, out any) int {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(out)
	return resp.StatusCode
}

package tenurebench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/bench/benchutil"
	"github.com/tenure-dev/tenure/node"
)

// agentProc is one voter agent started as a child process.
type agentProc struct {
	name   string
	gossip string // host:port
	http   string // http://host:port
	cmd    *exec.Cmd
	log    string        // its stderr file
	exited chan struct{} // closed when the process has been reaped
	err    error         // Wait's result, valid after exited
}

// readyInfo is what `tenure agent --ready-file` writes.
type readyInfo struct {
	Name   string `json:"name"`
	Gossip string `json:"gossip"`
	HTTP   string `json:"http"`
	PID    int    `json:"pid"`
}

// cluster is the three voter agents and the addresses to join them.
type cluster struct {
	dir    string
	voters []string
	agents []*agentProc
}

// startCluster starts one agent per voter name, one after another, each
// joining the first, and waits for each to write its ready file.
func startCluster(ctx context.Context, binary, dir string, voters []string, maxTTL time.Duration) (*cluster, error) {
	c := &cluster{dir: dir, voters: voters}
	for i, v := range voters {
		var join string
		if i > 0 {
			join = c.agents[0].gossip
		}
		a, err := startAgent(ctx, binary, dir, v, voters, join, maxTTL)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.agents = append(c.agents, a)
	}
	return c, nil
}

func startAgent(ctx context.Context, binary, dir, name string, voters []string, join string, maxTTL time.Duration) (*agentProc, error) {
	data := filepath.Join(dir, name)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	ready := filepath.Join(dir, name+".ready")
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	args := []string{"agent", "--name", name, "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--voters", strings.Join(voters, ","), "--data-dir", data, "--ready-file", ready,
		"--max-ttl", maxTTL.String(), "--log-level", "warn", "--new-cluster"}
	if join != "" {
		args = append(args, "--join", join)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = childEnv()
	cmd.Stdout = logf
	cmd.Stderr = logf
	childAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tenurebench: start agent %s: %w", name, err)
	}
	a := &agentProc{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() { a.err = cmd.Wait(); close(a.exited) }()

	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(ready); err == nil {
			var info readyInfo
			if err := json.Unmarshal(b, &info); err != nil {
				a.kill()
				return nil, fmt.Errorf("tenurebench: agent %s ready file: %w", name, err)
			}
			a.gossip, a.http = info.Gossip, info.HTTP
			return a, nil
		}
		select {
		case <-tick.C:
		case <-a.exited:
			return nil, fmt.Errorf("tenurebench: agent %s exited before it was ready (%v): %s", name, a.err, tail(logPath))
		case <-deadline.C:
			a.kill()
			return nil, fmt.Errorf("tenurebench: agent %s not ready after 20s: %s", name, tail(logPath))
		case <-ctx.Done():
			a.kill()
			return nil, ctx.Err()
		}
	}
}

// kill ends the agent with SIGKILL and reaps it.
func (a *agentProc) kill() {
	_ = a.cmd.Process.Kill()
	<-a.exited
}

// gossipAddrs lists the agents' gossip addresses, to join.
func (c *cluster) gossipAddrs() []string {
	out := make([]string, len(c.agents))
	for i, a := range c.agents {
		out[i] = a.gossip
	}
	return out
}

// cpu is the agents' total CPU time so far.
func (c *cluster) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, a := range c.agents {
		d, err := pidCPU(a.cmd.Process.Pid)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// alive reports an error naming the first agent that has exited.
func (c *cluster) alive() error {
	for _, a := range c.agents {
		select {
		case <-a.exited:
			return fmt.Errorf("tenurebench: agent %s exited (%v): %s", a.name, a.err, tail(a.log))
		default:
		}
	}
	return nil
}

// stop asks every agent to leave (SIGTERM) and kills those that take
// longer than a few seconds.
func (c *cluster) stop() {
	for _, a := range c.agents {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
	}
	grace := time.After(5 * time.Second)
	for _, a := range c.agents {
		select {
		case <-a.exited:
		case <-grace:
			a.kill()
		}
	}
	c.agents = nil
}

// waitRoutes waits until n knows every voter by gossip: until then its
// messages to a voter are unroutable and acquires only retry.
func waitRoutes(ctx context.Context, n *node.Node, voters []string) error {
	for {
		known := map[string]bool{}
		for _, m := range n.Members() {
			known[m.Name] = true
		}
		all := true
		for _, v := range voters {
			all = all && known[v]
		}
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("tenurebench: %s does not see every voter %v by gossip: %w", n.Name(), voters, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// tail is the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return "log tail:\n" + string(bytes.Join(lines, []byte("\n")))
}

// holderProc is a failover holder: a child process that is a node of its
// own and holds one lease (RunHolder).
type holderProc struct {
	cmd    *exec.Cmd
	token  string
	exited chan struct{}
	log    string
}

// startHolder starts `BINARY bench holder ...` and waits for it to report
// that it holds the lease.
func startHolder(ctx context.Context, binary, dir, name, lease string, ttl time.Duration, c *cluster, maxTTL time.Duration) (*holderProc, error) {
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(binary, "bench", "holder", "--name", name, "--lease", lease, "--ttl", ttl.String(),
		"--max-ttl", maxTTL.String(), "--voters", strings.Join(c.voters, ","), "--join", strings.Join(c.gossipAddrs(), ","))
	cmd.Env = childEnv()
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	childAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tenurebench: start holder: %w", err)
	}
	h := &holderProc{cmd: cmd, exited: make(chan struct{}), log: logPath}
	lines := benchutil.HolderLines(out)
	go func() { _ = cmd.Wait(); close(h.exited) }()
	select {
	case l := <-lines:
		tok, ok := strings.CutPrefix(l, "held ")
		if !ok {
			h.kill()
			return nil, fmt.Errorf("tenurebench: holder said %q: %s", l, tail(logPath))
		}
		h.token = tok
		return h, nil
	case <-h.exited:
		return nil, fmt.Errorf("tenurebench: holder exited before holding: %s", tail(logPath))
	case <-time.After(30 * time.Second):
		h.kill()
		return nil, errors.New("tenurebench: holder did not hold within 30s: " + tail(logPath))
	case <-ctx.Done():
		h.kill()
		return nil, ctx.Err()
	}
}

// kill sends SIGKILL and reaps the process.
func (h *holderProc) kill() {
	_ = h.cmd.Process.Kill()
	<-h.exited
}

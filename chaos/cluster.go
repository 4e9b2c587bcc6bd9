package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tenure-dev/tenure/chaos/netns"
)

// Ports inside the namespaces; every host has its own address, so they
// never collide.
const (
	gossipPort   = 7946
	agentPort    = 7947
	registerPort = 7700
)

// Cluster is the system under test: the lab network, the register process
// and the agent processes. Its methods are safe for concurrent use (the
// nemesis acts while clients run).
type Cluster struct {
	cfg    Config
	lab    *netns.Lab
	token  string // agents' HTTP bearer token
	agents []*agentNode

	regHost *netns.Host
	regData string
	regMu   sync.Mutex
	reg     *proc
}

// agentNode is one agent: its fixed spec and its current process.
type agentNode struct {
	spec  AgentSpec // spec.DataDir is the agent's data dir, used unless ephemeral
	host  *netns.Host
	voter bool
	api   LeaseAPI

	mu        sync.Mutex
	proc      *proc
	ephemeral bool // the current process runs without its data dir
	started   bool // a process of this agent was started before
}

// newCluster builds the lab and the specs; it starts nothing. Close it even
// if it fails half-way: it removes whatever exists.
func newCluster(cfg Config) (*Cluster, error) {
	lab, err := netns.New()
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, lab: lab, token: fmt.Sprintf("chaos-%d", cfg.Seed)}
	tokenFile := filepath.Join(cfg.Dir, "http-token")
	if err := os.WriteFile(tokenFile, []byte(c.token+"\n"), 0o600); err != nil {
		return c, err
	}
	if c.regHost, err = lab.AddHost("reg"); err != nil {
		return c, err
	}
	c.regData = filepath.Join(cfg.Dir, "register", "values")
	if err := os.MkdirAll(filepath.Dir(c.regData), 0o755); err != nil {
		return c, err
	}
	var voters []string
	for i := range cfg.Voters {
		voters = append(voters, fmt.Sprintf("a%d", i))
	}
	n := cfg.Voters + cfg.NonVoters
	for i := range n {
		name := fmt.Sprintf("a%d", i)
		h, err := lab.AddHost(name)
		if err != nil {
			return c, err
		}
		dir := filepath.Join(cfg.Dir, name)
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			return c, err
		}
		c.agents = append(c.agents, &agentNode{
			host:  h,
			voter: i < cfg.Voters,
			spec: AgentSpec{
				Name: name, Voters: voters,
				Bind:      net.JoinHostPort(h.IP.String(), fmt.Sprint(gossipPort)),
				HTTP:      net.JoinHostPort(h.IP.String(), fmt.Sprint(agentPort)),
				TokenFile: tokenFile,
				DataDir:   filepath.Join(dir, "data"),
				TTL:       cfg.TTL,
			},
			api: newHTTPLeaseAPI(net.JoinHostPort(h.IP.String(), fmt.Sprint(agentPort)), c.token),
		})
	}
	for _, a := range c.agents { // everyone joins through the voters
		for _, v := range c.agents[:cfg.Voters] {
			if v != a {
				a.spec.Join = append(a.spec.Join, v.spec.Bind)
			}
		}
	}
	return c, nil
}

// registerAddr is the register's host:port, reachable from the root
// namespace.
func (c *Cluster) registerAddr() string {
	return net.JoinHostPort(c.regHost.IP.String(), fmt.Sprint(registerPort))
}

// startRegister starts the register process on its file.
func (c *Cluster) startRegister() error {
	args := []string{"--listen", c.registerAddr(), "--data", c.regData}
	if c.cfg.UnsafeNoFence {
		args = append(args, "--unsafe-no-fence")
	}
	p, err := startProc("register", c.regHost.Command(c.cfg.RegisterBinary, args...), filepath.Join(c.cfg.Dir, "register", "log"))
	if err != nil {
		return err
	}
	c.regMu.Lock()
	c.reg = p
	c.regMu.Unlock()
	return nil
}

// crashRegister kills the register (SIGKILL) and waits until it is gone.
func (c *Cluster) crashRegister() error {
	c.regMu.Lock()
	p := c.reg
	c.regMu.Unlock()
	return p.kill()
}

// startAgent starts a's process, with its data dir unless ephemeral. Only
// the agent's first process is told that its empty data dir starts a new
// cluster; every later start, a wiped dir included, is a restart (R18).
// The first agent's first process joins nobody: it is the seed the others
// join (start it first and wait for it, see Run).
func (c *Cluster) startAgent(a *agentNode, ephemeral bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	spec := a.spec
	spec.NewCluster = !a.started && !ephemeral
	if !a.started && a == c.agents[0] {
		// The seed of the gossip cluster joins nobody: with no one up
		// yet, its join would fail and its first start with it.
		spec.Join = nil
	}
	if ephemeral {
		spec.DataDir = ""
	}
	prog, args := c.cfg.Launcher.Command(spec)
	p, err := startProc(a.spec.Name, a.host.Command(prog, args...), a.logPath(c.cfg.Dir))
	if err != nil {
		return err
	}
	a.proc, a.ephemeral, a.started = p, ephemeral, true
	return nil
}

// logPath is the file a's processes append their output to.
func (a *agentNode) logPath(runDir string) string {
	return filepath.Join(runDir, a.spec.Name, "log")
}

// current returns a's process.
func (a *agentNode) current() *proc {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.proc
}

// waitHealthy polls the register's and every agent's /healthz until all
// answer 200 or ctx ends. An agent that exited (a join that found nobody,
// say) is started again.
func (c *Cluster) waitHealthy(ctx context.Context) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	healthy := func(addr string) bool {
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var waiting []string
		if !healthy(c.registerAddr()) {
			waiting = append(waiting, "register")
		}
		for _, a := range c.agents {
			if p := a.current(); p != nil && p.exited() {
				a.mu.Lock()
				eph := a.ephemeral
				a.mu.Unlock()
				if err := c.startAgent(a, eph); err != nil {
					return err
				}
			}
			if !healthy(a.spec.HTTP) {
				waiting = append(waiting, a.spec.Name)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chaos: not healthy in time: %v (see the logs in %s)", waiting, c.cfg.Dir)
		case <-tick.C:
		}
	}
}

// waitAgent polls the agent's /healthz until it answers 200 or ctx ends.
func waitAgent(ctx context.Context, addr string) bool {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		if err != nil {
			return false
		}
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// Close stops every agent cleanly (SIGTERM, then SIGKILL after a grace
// period), kills the register and removes the lab. It reports every
// failure and is safe to call on a half-built cluster.
func (c *Cluster) Close() error {
	var errs []error
	var wg sync.WaitGroup
	for _, a := range c.agents {
		if p := a.current(); p != nil && !p.exited() {
			wg.Add(1)
			go func() { defer wg.Done(); p.term(5 * time.Second) }()
		}
	}
	wg.Wait()
	c.regMu.Lock()
	if c.reg != nil && !c.reg.exited() {
		errs = append(errs, c.reg.kill())
	}
	c.regMu.Unlock()
	if c.lab != nil {
		errs = append(errs, c.lab.Close())
	}
	return errors.Join(errs...)
}

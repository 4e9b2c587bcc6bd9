package chaos

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenure-dev/tenure/api"
)

// AgentSpec is everything needed to start one agent.
type AgentSpec struct {
	// Name is the node name ("a0", ...).
	Name string
	// Voters lists the voters' names.
	Voters []string
	// Bind is the gossip address (host:port) inside the agent's namespace.
	Bind string
	// Join lists gossip addresses of other agents.
	Join []string
	// HTTP is the agent's HTTP address, reachable from the root namespace.
	HTTP string
	// TokenFile holds the HTTP bearer token.
	TokenFile string
	// DataDir is the data dir; empty runs the agent memory-only.
	DataDir string
	// TTL is the agent's default lease TTL.
	TTL time.Duration
	// NewCluster says the (empty) data dir starts a new cluster: set only
	// on an agent's first start, never on a restart, where an empty dir
	// means a lost disk and must sit out the quarantine (R18).
	NewCluster bool
}

// Launcher turns an AgentSpec into the program and arguments that run the
// agent. The cluster runs them inside the agent's namespace and sends
// signals to the resulting process. Implementations must be safe for
// concurrent use.
type Launcher interface {
	Command(spec AgentSpec) (program string, args []string)
}

// Grant is an agent's answer to a granted acquire: what the client needs
// to keep the tenure alive and to release it.
type Grant struct {
	// Token is the tenure's fencing token.
	Token uint64
	// Key is the tenure's lease key, the proof of holding it that
	// keepalive and release must show.
	Key string
	// DeadlineMS is the agent's deadline_ms: the client holds the lease
	// until the instant it sent the request plus DeadlineMS, by its own
	// clock (R16).
	DeadlineMS int64
}

// LeaseAPI is how a client takes leases through its agent. Every method
// blocks at most until ctx ends. The client reads its clock just before
// the request leaves; that instant plus the answer's deadline_ms is its
// deadline (R16). Errors that are an answer of the agent satisfy
// IsDefinite; the others leave the outcome unknown.
type LeaseAPI interface {
	Acquire(ctx context.Context, name string, ttl, wait time.Duration) (Grant, error)
	KeepAlive(ctx context.Context, name string, g Grant) (deadlineMS int64, err error)
	Release(ctx context.Context, name string, g Grant) error
}

// BinaryLauncher runs `tenure agent` with the flags documented for it.
type BinaryLauncher struct {
	// Binary is the tenure binary.
	Binary string
	// ExtraArgs are appended to every command line.
	ExtraArgs []string
}

// Command implements Launcher.
func (b BinaryLauncher) Command(s AgentSpec) (string, []string) {
	args := []string{"agent",
		"--name", s.Name,
		"--bind", s.Bind,
		"--voters", strings.Join(s.Voters, ","),
		"--http", s.HTTP,
		"--http-token-file", s.TokenFile,
		"--ttl", s.TTL.String(),
		"--insecure",
	}
	if len(s.Join) > 0 {
		args = append(args, "--join", strings.Join(s.Join, ","))
	}
	if s.DataDir != "" {
		args = append(args, "--data-dir", s.DataDir)
	}
	if s.NewCluster && agentFlagSupported(b.Binary, "new-cluster") {
		args = append(args, "--new-cluster")
	}
	if agentFlagSupported(b.Binary, "max-ttl") {
		// Keep the quarantine of a crashed voter (about MaxTTL, R9) short
		// enough that a short pass sees the cluster recover.
		args = append(args, "--max-ttl", (2 * s.TTL).String())
	}
	return b.Binary, append(args, b.ExtraArgs...)
}

var (
	agentHelpOnce sync.Once
	agentHelp     string
)

// agentFlagSupported reports whether `binary agent --help` lists --flag.
func agentFlagSupported(binary, flag string) bool {
	agentHelpOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, binary, "help", "agent").CombinedOutput()
		agentHelp = string(out)
	})
	return strings.Contains(agentHelp, "-"+flag+" ") || strings.Contains(agentHelp, "-"+flag+"\t") || strings.Contains(agentHelp, "-"+flag+"\n")
}

// httpLeaseAPI is LeaseAPI over api.Client.
type httpLeaseAPI struct{ c *api.Client }

// newHTTPLeaseAPI talks to the agent at addr with a client of its own:
// no connection reuse, so a connection to a killed agent is never reused.
func newHTTPLeaseAPI(addr, token string) LeaseAPI {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: time.Second}).DialContext}
	return httpLeaseAPI{c: &api.Client{BaseURL: "http://" + addr, Token: token, HTTP: &http.Client{Transport: tr}}}
}

func (h httpLeaseAPI) Acquire(ctx context.Context, name string, ttl, wait time.Duration) (Grant, error) {
	g, _, err := h.c.Acquire(ctx, name, api.AcquireRequest{TTL: api.Duration(ttl), Wait: api.Duration(wait)})
	return Grant{Token: g.Token, Key: g.LeaseKey, DeadlineMS: g.DeadlineMS}, err
}

func (h httpLeaseAPI) KeepAlive(ctx context.Context, name string, g Grant) (int64, error) {
	a, _, err := h.c.Keepalive(ctx, name, g.Token, g.Key)
	if err == nil && a.Token != g.Token {
		return 0, errors.New("chaos: keepalive answered another token " + strconv.FormatUint(a.Token, 10))
	}
	return a.DeadlineMS, err
}

func (h httpLeaseAPI) Release(ctx context.Context, name string, g Grant) error {
	return h.c.Release(ctx, name, g.Token, g.Key)
}

// IsDefinite reports whether err is an answer of the agent in the 4xx
// range: the operation did not take effect. Other errors (timeouts, broken
// connections, 5xx) leave the outcome unknown.
func IsDefinite(err error) bool {
	s := api.StatusOf(err)
	return s >= 400 && s < 500
}

package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
	"github.com/tenure-dev/tenure/protocol"
)

// Agent serves one node over HTTP and keeps the books of the leases its
// clients hold through it. It is safe for concurrent use.
type Agent struct {
	cfg     Config
	n       *node.Node
	log     *slog.Logger
	metrics *metrics
	handler http.Handler

	// ctx is cancelled by Close: waiting acquires give up with it.
	ctx    context.Context
	cancel context.CancelFunc

	// drift is ε, the node's MaxDrift: every deadline handed to a client
	// is scaled by it (R16, deadlineMS).
	drift float64
	// defaultTTL and maxTTL are the node's (DefaultTTL, MaxTTL), read
	// once at New. The voters are read at each use: they change online.
	defaultTTL, maxTTL time.Duration

	mu      sync.Mutex
	leases  map[string]*held // by lease name: a node holds one tenure per name
	closed  bool
	streams sync.WaitGroup // hold-stream handlers still running

	// Capacity in use, against Config.MaxConns, MaxWatches and MaxHolds.
	conns    atomic.Int64 // connections of Listener
	refusing atomic.Int64 // connections over the cap being answered 503
	watches  atomic.Int64 // watch streams
	holds    atomic.Int64 // hold-mode acquires

	// wmu guards observations: the node.Observe that the watch streams
	// of a name share (watch.go).
	wmu          sync.Mutex
	observations map[string]*observation
	// observeFn is node.Observe; tests count its calls.
	observeFn func(ctx context.Context, name string) <-chan node.Holder
}

// New builds an agent for cfg.Node and registers its metrics in
// cfg.Registry.
func New(cfg Config) (*Agent, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:    cfg,
		n:      cfg.Node,
		log:    cfg.Logger,
		leases: map[string]*held{},
		drift:  cfg.Node.MaxDrift(),

		defaultTTL: cfg.Node.DefaultTTL(),
		maxTTL:     cfg.Node.MaxTTL(),

		observations: map[string]*observation{},
		observeFn:    cfg.Node.Observe,
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.metrics, err = newMetrics(a)
	if err != nil {
		a.cancel()
		return nil, err
	}
	a.handler = a.routes()
	return a, nil
}

// Handler is the agent's HTTP API.
func (a *Agent) Handler() http.Handler { return a.handler }

// Close stops taking requests (acquire, keepalive and DELETE answer 503
// from now on), cancels waiting acquires and ends every hold stream with a
// "stopping" event. It frees no lease a client holds (R15): a client may
// act until its own deadline, which the agent can no longer shorten. The
// owner's node.Leave then abandons those tenures and the voters let them
// expire; a node that stays up frees each one at the latest deadline its
// client was told (keepalive expiry, or a stream's last deadline). ctx
// bounds the wait for the streams' last events. Call it before shutting
// the HTTP server down, so that hold streams end, then call node.Leave.
func (a *Agent) Close(ctx context.Context) error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	done := make(chan struct{})
	go func() { a.streams.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// requestContext is r's context, also cancelled when the agent closes.
func (a *Agent) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(a.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// isClosed reports whether Close has been called.
func (a *Agent) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// grants lists the leases held through the agent, sorted by name, with
// deadlines counted from received (R16); never with lease keys.
func (a *Agent) grants(received time.Time) []api.Grant {
	a.mu.Lock()
	hs := make([]*held, 0, len(a.leases))
	for _, h := range a.leases {
		hs = append(hs, h)
	}
	a.mu.Unlock()
	out := make([]api.Grant, 0, len(hs))
	for _, h := range hs {
		g := h.grant(received)
		g.Mode = "keepalive"
		if h.hold {
			g.Mode = "hold"
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// membership reports members and the voter quorum as gossip sees them.
func (a *Agent) membership() api.Members {
	k := a.n.Voters()
	all := k.All()
	voters := map[string]bool{}
	for _, v := range all {
		voters[v] = true
	}
	seen := map[string]bool{}
	var out api.Members
	out.Self = a.n.Name()
	for _, m := range a.n.Members() {
		seen[m.Name] = true
		mm := api.Member{Name: m.Name, Addr: m.Addr, Voter: voters[m.Name], Alive: true, Mismatch: m.Mismatch}
		if m.Mismatch {
			mm.Cluster, mm.Voters = m.Cluster, m.VoterList
		}
		out.Members = append(out.Members, mm)
		if voters[m.Name] {
			out.Quorum.Alive++
		}
	}
	for _, v := range all {
		if !seen[v] {
			out.Members = append(out.Members, api.Member{Name: v, Voter: true})
		}
	}
	sort.Slice(out.Members, func(i, j int) bool { return out.Members[i].Name < out.Members[j].Name })
	out.Quorum.Voters = len(all)
	out.Quorum.Majority = out.Quorum.Alive > len(all)/2
	s := a.n.Stats()
	out.Node = api.NodeState{
		Cluster: a.n.ClusterID(), Voters: protocol.VoterList(all),
		Quarantined: s.Quarantined, QuarantineLeftMS: s.QuarantineLeft.Milliseconds(),
		Verifying: s.Verifying, StaleStart: s.StaleStart,
		MismatchedMembers: s.MismatchedMembers, DuplicateNames: s.DuplicateNames,
	}
	return out
}

// errClosing reports whether err comes from the agent or node stopping.
func (a *Agent) errClosing(err error) bool {
	return errors.Is(err, node.ErrClosed) || a.ctx.Err() != nil
}

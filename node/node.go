package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/hashicorp/memberlist"

	"github.com/tenure-dev/tenure/protocol"
)

// deadNodeReclaim is how long after a node was declared dead another
// process may take its name at a new address (memberlist refuses it for
// ever by default).
const deadNodeReclaim = 10 * time.Second

// Node is one member of a tenure cluster: a proposer for its own lease
// requests and, if named in Config.Voters, an acceptor for everyone's. It
// is safe for concurrent use.
//
// One owner goroutine runs the protocol machine; API calls, received
// datagrams and the wake-up timer reach it through channels, and no
// protocol decision is made anywhere else.
type Node struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	start time.Time // protocol.Time 0 on cfg.Clock
	store *store    // nil without a DataDir
	ml    *memberlist.Memberlist
	peers *peers
	stats counters

	ops  chan func()   // API calls, run on the owner goroutine
	in   chan []byte   // received datagrams
	kick chan struct{} // capacity 1: endq has items
	quit chan struct{} // closed by Shutdown
	done chan struct{} // closed when the owner goroutine has exited

	endMu  sync.Mutex
	endq   []endItem
	closed bool // no more endq items are taken

	quitOnce sync.Once
	stopMu   sync.Mutex // serialises Leave and Shutdown
	stopped  bool

	margins protocol.Config // the validated machine config, read-only
	ann     *announcer      // gossip of elections (announce.go)
	slotRnd *lockedRand     // slot orders of AcquireSlot (semaphore.go)
	// quarantineEnd is when a crashed start's quarantine ends (zero if none).
	quarantineEnd time.Time

	// Owned by the owner goroutine.
	m        *protocol.Machine
	outbox   *outbox
	dec      *protocol.Decoder
	mismatch map[string]protocol.Identity // senders of another identity, as last logged (R17)
	timer    *clock.Timer
	timerAt  protocol.Time // instant the timer is armed for; Never if idle
	names    map[string]*nameState
	toStart  []string // names whose next local caller starts once the machine is quiet
	queries  map[uint64]chan holderResult
	sentq    []chan struct{} // closed after the next flush
	exit     bool            // leave the loop after this pass
	snapshot *protocol.State // set by a clean stop (Leave)
}

// New validates cfg, recovers the node's durable state from cfg.DataDir,
// starts memberlist and joins cfg.Join. The node serves at once: there is
// no start-up wait, except that a voter which may have forgotten promises
// (a crash, or no DataDir) does not answer as an acceptor for about MaxTTL
// (R9).
func New(cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	pcfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:     cfg,
		log:     cfg.Logger.With("node", cfg.Name),
		clock:   cfg.Clock,
		peers:   &peers{nodes: map[string]*memberlist.Node{}},
		ops:     make(chan func()),
		in:      make(chan []byte, inboundQueue),
		kick:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		outbox:  newOutbox(),
		dec:     protocol.NewDecoder(),
		timerAt: protocol.Never,
		names:   map[string]*nameState{},
		queries: map[uint64]chan holderResult{},
		slotRnd: newSlotRand(cfg.Name),
	}
	n.ann = newAnnouncer(n)
	start, err := n.recover()
	if err != nil {
		return nil, err
	}
	n.start = n.clock.Now()
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	n.m, err = protocol.New(pcfg, start, rnd, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	// The first era must be durable before any message leaves (R12).
	if out := n.m.Ready(); out.PersistEra != 0 && n.store != nil {
		if err := n.store.writeEra(out.PersistEra); err != nil {
			return nil, err
		}
	}
	n.margins = n.m.Config()
	n.stats.era.Store(n.m.Era())
	if n.m.Quarantined(0) {
		n.quarantineEnd = n.localTime(n.m.QuarantineUntil())
	}
	n.log.Info("starting", "start", startName(start.Kind), "era", n.m.Era(),
		"voter", n.m.IsVoter(), "quarantine", time.Duration(n.m.QuarantineUntil()))

	if err := n.startMemberlist(); err != nil {
		return nil, err
	}
	n.timer = n.clock.Timer(time.Hour)
	n.timer.Stop()
	go n.run()
	if len(cfg.Join) > 0 {
		if _, err := n.ml.Join(cfg.Join); err != nil {
			_ = n.Shutdown()
			return nil, fmt.Errorf("node: join %v: %w", cfg.Join, err)
		}
	}
	return n, nil
}

// recover reads the data dir and decides how the machine starts (R9, R12):
// fresh on a data dir never used; clean with the state a Leave wrote, which
// is consumed durably before the node answers anything; crashed otherwise.
// Without a data dir every start is a crash, with the era seeded from the
// wall clock.
func (n *Node) recover() (protocol.Start, error) {
	if n.cfg.DataDir == "" {
		n.log.Warn("no DataDir: this start counts as a crash, and fencing tokens may regress after a majority of voters restart")
		return protocol.Start{Kind: protocol.StartCrashed, Era: uint32(max(n.clock.Now().Unix(), 0))}, nil
	}
	s, err := openStore(n.cfg.DataDir)
	if err != nil {
		return protocol.Start{}, err
	}
	n.store = s
	era, haveEra, err := s.readEra()
	if err != nil {
		return protocol.Start{}, err
	}
	st, bad, err := s.takeState()
	if err != nil {
		return protocol.Start{}, err
	}
	if bad != nil {
		n.log.Warn("clean-shutdown state unreadable; starting as after a crash", "err", bad)
	}
	switch {
	case st != nil:
		// The restored machine raises no era of its own: make sure the era
		// file is at least the restored era, so a later crash bumps past it.
		if !haveEra || st.Era > era {
			if err := s.writeEra(max(st.Era, era)); err != nil {
				return protocol.Start{}, err
			}
		}
		return protocol.Start{Kind: protocol.StartClean, State: st}, nil
	case haveEra:
		return protocol.Start{Kind: protocol.StartCrashed, Era: era}, nil
	case bad != nil:
		// A state file existed without an era file: not a fresh dir.
		return protocol.Start{Kind: protocol.StartCrashed, Era: 0}, nil
	}
	return protocol.Start{Kind: protocol.StartFresh}, nil
}

func startName(k protocol.StartKind) string {
	switch k {
	case protocol.StartFresh:
		return "fresh"
	case protocol.StartClean:
		return "clean"
	case protocol.StartCrashed:
		return "crashed"
	}
	return strconv.Itoa(int(k))
}

func (n *Node) startMemberlist() error {
	mc := memberlist.DefaultLANConfig()
	mc.Name = n.cfg.Name
	mc.BindAddr = n.cfg.BindAddr
	mc.BindPort = n.cfg.BindPort
	mc.AdvertisePort = n.cfg.BindPort
	mc.Transport = n.cfg.Transport
	if mc.Transport == nil {
		// memberlist's own NetTransport allocates 64 KiB per received
		// datagram; ours does not (see udpTransport).
		t, err := newUDPTransport(n.cfg.BindAddr, n.cfg.BindPort, newStdLogger(n.log))
		if err != nil {
			return err
		}
		mc.Transport = t
		mc.AdvertisePort = t.port()
	}
	mc.Label = n.cfg.Label
	mc.EnableCompression = false // LZW costs ~3x latency for nothing here
	// A node that crashed and comes back on another address may take its
	// name back once gossip has declared the old one dead for this long.
	mc.DeadNodeReclaimTime = deadNodeReclaim
	mc.SecretKey = n.cfg.SecretKey
	mc.Delegate = &delegate{n: n, meta: encodeMeta(n.m.IsVoter())}
	mc.Events = n.peers
	mc.Logger = newStdLogger(n.log)
	if !n.log.Enabled(context.Background(), slog.LevelError) {
		mc.Logger = log.New(io.Discard, "", 0)
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("node: start memberlist: %w", err)
	}
	n.ml = ml
	return nil
}

// Name is this node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Addr is the "host:port" other nodes can Join.
func (n *Node) Addr() string { return n.ml.LocalNode().Address() }

// Members lists the nodes gossip knows as alive, sorted by name. It is a
// hint: gossip never decides a quorum (R1).
func (n *Node) Members() []Member { return n.peers.list() }

// Leave ends this node's part in the cluster cleanly: it fails pending
// requests with ErrClosed, ends every tenure it holds (their Err becomes
// ErrClosed) without releasing it, saves its acceptor state to the data dir
// so that a restart needs no quarantine (R9), leaves the gossip cluster and
// stops. ctx bounds the wait for the leave to be gossiped.
//
// Leave never frees a lease at the voters (R15): only the holder's own
// Lease.Release does. A goroutine may still be acting under a tenure for up
// to the margin, and a client of an agent may hold a deadline handed on
// from this node, so the voters keep each lease until it expires there
// (at most its TTL after the last renewal). Release the leases you are done
// with before calling Leave if the next holder should not wait.
func (n *Node) Leave(ctx context.Context) error {
	n.stopMu.Lock()
	defer n.stopMu.Unlock()
	if n.stopped {
		return ErrClosed
	}
	n.stopped = true
	err := n.do(context.WithoutCancel(ctx), func() {
		n.closeAll()
		n.settle() // the Release messages leave before the machine stops
		n.snapshot = n.m.Snapshot(n.now())
		n.exit = true
	})
	<-n.done
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if n.snapshot != nil && n.store != nil {
		if err := n.store.writeState(n.snapshot); err != nil {
			errs = append(errs, err)
		}
	}
	timeout := time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	if err := n.ml.Leave(timeout); err != nil {
		n.log.Warn("leave not gossiped", "err", err)
	}
	if err := n.ml.Shutdown(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Shutdown stops the node at once, as a crash would look to the cluster:
// pending requests fail and every tenure ends here with ErrClosed, but the
// voters are not told, so held leases expire there on their own (after at
// most their TTL). The node writes no clean-shutdown state: its next start
// counts as a crash (R9). Calling it again, or after Leave, does nothing.
func (n *Node) Shutdown() error {
	n.stopMu.Lock()
	defer n.stopMu.Unlock()
	n.quitOnce.Do(func() { close(n.quit) })
	<-n.done
	if n.stopped {
		return nil
	}
	n.stopped = true
	return n.ml.Shutdown()
}

// now is the machine's local time: nanoseconds on the node's clock since
// it started.
func (n *Node) now() protocol.Time { return protocol.Time(n.clock.Since(n.start)) }

// localTime converts a machine instant to the node's clock.
func (n *Node) localTime(t protocol.Time) time.Time { return n.start.Add(time.Duration(t)) }

// margin is m for a lease of ttl: how long before its deadline a holder
// stops acting, as the protocol computes it.
func (n *Node) margin(ttl time.Duration) time.Duration {
	if n.margins.Margin > 0 {
		return n.margins.Margin
	}
	return ttl / 100
}

// do runs f on the owner goroutine and returns once f has run. It returns
// ErrClosed if the node has stopped, or ctx.Err() if ctx ended before the
// owner took f (then f never runs).
func (n *Node) do(ctx context.Context, f func()) error {
	select {
	case <-n.done:
		return ErrClosed
	default:
	}
	ran := make(chan struct{})
	select {
	case n.ops <- func() { defer close(ran); f() }:
	case <-n.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-ran // the owner runs f at once and cannot stop halfway through it
	return nil
}

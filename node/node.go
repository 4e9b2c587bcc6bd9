package node

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
	guard *guard // identity and duplicate checks on gossip (guard.go)
	boot  uint64 // this start's boot counter; 0 without a DataDir
	meta  memberMeta

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

	margins protocol.Config            // the validated machine config, read-only
	ann     *announcer                 // gossip of elections (announce.go)
	slotRnd *lockedRand                // slot orders of AcquireSlot (semaphore.go)
	answers *answers                   // when each voter last answered (avail.go)
	undo    *dirUndo                   // the data dir as New found it (undo.go)
	direct  directPath                 // the direct datagram path (direct.go)
	view    atomic.Pointer[configView] // the adopted voter configuration (reconfig.go)

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
	sentq    []chan struct{}   // closed after the next flush
	exit     bool              // leave the loop after this pass
	initial  protocol.Output   // the machine's first output, sent when the loop starts
	snapshot *protocol.State   // set by a clean stop (Leave)
	reconf   chan reconfResult // the caller of the Reconfigure under way, if any
	genesis  []string          // the voter list the cluster started with (InitialVoters)
	addr     string            // the advertised gossip address (Addr), fixed once memberlist runs
	metaKick chan struct{}     // capacity 1: gossip the metadata again (regossip)
	catchUp  chan struct{}     // capacity 1: a member advertises a newer configuration (regossip)
	bg       sync.WaitGroup    // regossip, waited for by Leave and Shutdown
}

// New validates cfg, recovers the node's durable state from cfg.DataDir
// (locking it, and refusing a dir of another node or cluster), starts
// memberlist and joins cfg.Join. It refuses to run a second process under
// a name a live member already holds (ErrDuplicateName). The node serves
// at once: there is no start-up wait, except that a voter which may have
// forgotten promises (a crash, a restored or empty DataDir without
// NewCluster, or no DataDir) does not answer as an acceptor for about
// MaxTTL (R9, R18), and a voter that would skip that wait first has its
// peers confirm it is not a stale copy.
func New(cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	pcfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		log:      cfg.Logger.With("node", cfg.Name),
		clock:    cfg.Clock,
		peers:    &peers{nodes: map[string]*memberlist.Node{}},
		ops:      make(chan func()),
		in:       make(chan []byte, inboundQueue),
		kick:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		metaKick: make(chan struct{}, 1),
		catchUp:  make(chan struct{}, 1),
		outbox:   newOutbox(),
		dec:      protocol.NewDecoder(),
		timerAt:  protocol.Never,
		names:    map[string]*nameState{},
		queries:  map[uint64]chan holderResult{},
		slotRnd:  newSlotRand(cfg.Name),
		answers:  newAnswers(cfg.Voters),
	}
	n.ann = newAnnouncer(n)
	start, nodeID, err := n.recover()
	if err != nil {
		n.undoStart()
		return nil, err
	}
	n.start = n.clock.Now()
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	n.m, err = protocol.New(pcfg, start, rnd, 0)
	if err != nil {
		n.undoStart()
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	// The first era and bounds must be durable before any message leaves
	// (R12, R19); the messages leave when the owner goroutine starts.
	n.initial = n.m.Ready()
	if err := n.persist(n.initial); err != nil {
		n.undoStart()
		return nil, err
	}
	n.margins = n.m.Config()
	n.stats.era.Store(n.m.Era())
	n.noteMachine()
	n.log.Info("starting", "start", startName(start.Kind), "era", n.m.Era(), "boot", start.Boot,
		"voter", n.m.IsVoter(), "cluster", cfg.ClusterID, "quarantine", time.Duration(n.m.QuarantineUntil()))

	n.meta = memberMeta{
		wire: protocol.WireVersionRuns, ext: true, direct: cfg.Transport == nil, nonce: rand.Uint64(),
		genesis: protocol.Fingerprint(n.genesis),
	}
	copy(n.meta.nodeID[:], nodeID)
	n.noteConfig()
	if k := n.Voters(); k.Epoch > 0 {
		n.log.Info("voter configuration from the data dir", "config", k.String(), "voter", n.m.IsVoter())
	}
	n.guard = newGuard(n.log, cfg.Name, n.currentMeta(), n.peers, func() { n.stats.duplicates.Add(1) })
	n.peers.gone = n.guard.forget
	n.guard.behind = func() {
		select {
		case n.catchUp <- struct{}{}:
		default:
		}
	}
	if err := n.startMemberlist(); err != nil {
		n.undoStart()
		return nil, err
	}
	// Read once: memberlist rewrites its local node in place at every
	// UpdateNode (reannounce, regossip), and the address never changes.
	n.addr = n.ml.LocalNode().Address()
	n.timer = n.clock.Timer(time.Hour)
	n.timer.Stop()
	if err := n.join(); err != nil {
		n.abort()
		return nil, err
	}
	// R18: memberlist's Join pulled the full member list synchronously; a
	// live member under this name at another address shows up there.
	if err := n.guard.started(n.addr); err != nil {
		n.log.Error("refusing to run", "err", err)
		n.abort()
		return nil, err
	}
	n.undo = nil // from here on the node may answer: the dir is its own
	go n.run()
	go n.reannounce()
	n.bg.Add(1)
	go n.regossip()
	return n, nil
}

// reannounce gossips this node's alive message again a few times, each
// deadNodeReclaim apart. A process that replaces a crashed one under its
// name at a new address may have joined while the members still held the
// old one as dead but not yet reclaimable: they refused the new address,
// and memberlist itself would repeat it only at its next push/pull
// (every 30 s). Once the old one has been dead for deadNodeReclaim, these
// repeats are taken.
func (n *Node) reannounce() {
	for range 3 {
		t := time.NewTimer(deadNodeReclaim + time.Second)
		select {
		case <-t.C:
			_ = n.ml.UpdateNode(time.Second)
		case <-n.done:
			t.Stop()
			return
		}
	}
}

// abort undoes a New that fails after memberlist started and before the
// owner goroutine did: nothing was sent, the data dir is put back as New
// found it (undo.go), and the node leaves no trace in gossip but a dead
// member.
func (n *Node) abort() {
	n.stopMu.Lock()
	n.stopped = true
	n.stopMu.Unlock()
	close(n.done)
	_ = n.ml.Shutdown()
	n.undoStart()
}

// recover reads the data dir and decides how the machine starts (R9, R12,
// R18, R19): fresh on an empty dir of a new cluster; clean with the state
// a Leave wrote, which is consumed durably before the node answers
// anything; crashed otherwise (a crash, a Restored dir, an empty dir
// without NewCluster). Without a data dir a voter's era is seeded from
// the wall clock and a non-voter's is 1. It
// returns the node ID (16 bytes): the dir's, or a random one.
//
// Every check that can refuse the dir runs before anything in it changes.
func (n *Node) recover() (protocol.Start, []byte, error) {
	randomID, _ := hex.DecodeString(newNodeID())
	voter := slices.Contains(n.cfg.Voters, n.cfg.Name)
	if n.cfg.DataDir == "" {
		if n.cfg.NewCluster || n.cfg.Restored {
			n.log.Info("no DataDir: NewCluster and Restored mean nothing without one; this start counts as a crash")
		}
		if !voter {
			// Issue 12.7c: a non-voter reuses no ballot (R20: the voters
			// tell its incarnations apart), and its first reject carries
			// the voters' era up to it. A wall-clock era here would drag
			// every voter's era, and every later token, to ~2^31 << 32.
			n.genesis = sortedCopy(n.cfg.Voters)
			n.log.Info("no DataDir: this non-voter starts at era 1 and takes the voters' era from their first answer")
			return protocol.Start{Kind: protocol.StartCrashed, Era: 0}, randomID, nil
		}
		n.genesis = sortedCopy(n.cfg.Voters)
		n.log.Warn("no DataDir: this start counts as a crash, and fencing tokens may regress after a majority of voters restart")
		return protocol.Start{Kind: protocol.StartCrashed, Era: uint32(max(n.clock.Now().Unix(), 0))}, randomID, nil
	}
	s, err := openStore(n.cfg.DataDir)
	if err != nil {
		return protocol.Start{}, nil, err
	}
	n.store = s
	if n.undo, err = s.snapshot(); err != nil {
		return protocol.Start{}, nil, err
	}
	id, haveID, err := s.readIdentity()
	if err != nil {
		return protocol.Start{}, nil, err
	}
	used, err := s.used()
	if err != nil {
		return protocol.Start{}, nil, err
	}
	rec, err := s.readConfig()
	if err != nil {
		return protocol.Start{}, nil, err
	}
	rebind := !haveID
	if haveID {
		if err := id.check(n.cfg.DataDir, n.cfg.ClusterID, n.cfg.Name); err != nil {
			return protocol.Start{}, nil, err
		}
		if rebind, err = n.checkDirVoters(id, rec, used); err != nil {
			return protocol.Start{}, nil, err
		}
	}
	era, haveEra, err := s.readEra()
	if err != nil {
		return protocol.Start{}, nil, err
	}
	bounds, err := s.readBounds()
	if err != nil {
		return protocol.Start{}, nil, err
	}
	peers, err := s.readPeers()
	if err != nil {
		return protocol.Start{}, nil, err
	}
	// From here on the dir is this node's: bind it, count the start.
	switch {
	case !haveID:
		id = dirIdentity{Cluster: n.cfg.ClusterID, Name: n.cfg.Name, ID: newNodeID()}
		if used {
			n.log.Info("data dir has no identity file (an older version wrote it): binding it to this cluster and node", "dir", n.cfg.DataDir, "cluster", id.Cluster)
		}
	case rebind && len(id.Voters) > 0:
		n.log.Warn("data dir rebound to a new voter list", "dir", n.cfg.DataDir,
			"old_voters", protocol.VoterList(id.Voters), "voters", protocol.VoterList(n.cfg.Voters))
	}
	if rebind {
		id.Voters = sortedCopy(n.cfg.Voters)
		if err := s.writeIdentity(id); err != nil {
			return protocol.Start{}, nil, err
		}
		if rec != nil {
			// The list was changed by stopping every node: the record
			// holds only a promise in the old list's first slot, void
			// like every other promise of a Restored start.
			if err := s.removeConfig(); err != nil {
				return protocol.Start{}, nil, err
			}
			rec = nil
		}
	}
	n.genesis = sortedCopy(id.Voters)
	if len(n.genesis) == 0 {
		n.genesis = sortedCopy(n.cfg.Voters) // a dir bound by an older version
	}
	nodeID, _ := hex.DecodeString(id.ID) // checked by parseIdentity
	boot, err := s.nextBoot()
	if err != nil {
		return protocol.Start{}, nil, err
	}
	st, bad, err := s.takeState()
	if err != nil {
		return protocol.Start{}, nil, err
	}
	if bad != nil {
		n.log.Warn("clean-shutdown state unreadable; starting as after a crash", "err", bad)
	}
	if n.cfg.NewCluster && used {
		n.log.Info("NewCluster ignored: the data dir is not empty", "dir", n.cfg.DataDir)
	}
	start := protocol.Start{Boot: boot, Bounds: bounds, Peers: peers, Config: rec}
	switch {
	case st != nil && n.cfg.Restored:
		// R18: a restored state may be older than what this voter promised
		// since: forget it, and sit out the quarantine.
		n.log.Warn("Restored: discarding the clean-shutdown state; starting as after a crash", "dir", n.cfg.DataDir)
		start.Kind, start.Era = protocol.StartCrashed, max(era, st.Era)
	case st != nil:
		// The restored machine raises no era of its own: make sure the era
		// file is at least the restored era, so a later crash bumps past it.
		if !haveEra || st.Era > era {
			if err := s.writeEra(max(st.Era, era)); err != nil {
				return protocol.Start{}, nil, err
			}
		}
		start.Kind, start.State = protocol.StartClean, st
	case used:
		// An era file, or a state file that could not be read.
		start.Kind, start.Era = protocol.StartCrashed, era
	case n.cfg.NewCluster:
		start.Kind = protocol.StartFresh
	default:
		// R18: an empty dir may be the replaced disk of a voter that
		// promised and accepted before: it forgot, so it sits out the
		// quarantine, unless the operator says the cluster is new.
		// Its era floor is lost with the rest: era 0+1, raised during the
		// quarantine past the era of every voter that answers its Hello
		// (R12).
		start.Kind, start.Era = protocol.StartCrashed, 0
		if voter {
			n.log.Warn("empty data dir without NewCluster: starting as after a crash (quarantine); pass NewCluster (--new-cluster) only when the whole cluster is new", "dir", n.cfg.DataDir)
		}
	}
	n.boot = boot
	return start, nodeID, nil
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
	// One keyring for memberlist's packets and the direct path's.
	if n.cfg.SecretKey != nil {
		kr, err := memberlist.NewKeyring(nil, n.cfg.SecretKey)
		if err != nil {
			return fmt.Errorf("%w: SecretKey: %w", ErrConfig, err)
		}
		mc.Keyring = kr
	}
	if mc.Transport == nil {
		// memberlist's own NetTransport allocates 64 KiB per received
		// datagram; ours does not (see udpTransport), and it carries the
		// direct path (direct.go).
		codec, err := newDirectCodec(n.cfg.Label, mc.Keyring)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		n.direct = directPath{send: !n.cfg.MemberlistDatagrams, out: codec, in: &directReader{codec: codec.clone()}}
		t, err := newUDPTransport(n.cfg.BindAddr, n.cfg.BindPort, newStdLogger(n.log), n.receiveDirect)
		if err != nil {
			return err
		}
		n.direct.tr = t
		mc.Transport = t
		mc.AdvertisePort = t.port()
	}
	mc.Label = n.cfg.Label
	mc.EnableCompression = false // LZW costs ~3x latency for nothing here
	currentGossipSettings().apply(mc)
	// A node that crashed and comes back on another address may take its
	// name back once gossip has declared the old one dead for this long.
	mc.DeadNodeReclaimTime = deadNodeReclaim
	mc.Delegate = &delegate{n: n}
	mc.Events = n.peers
	mc.Alive = n.guard    // R17, R18: sees every alive message first
	mc.Conflict = n.guard // R18: two addresses under one name
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
func (n *Node) Addr() string { return n.addr }

// Members lists the nodes gossip knows as alive, sorted by name. It is a
// hint: gossip never decides a quorum (R1).
func (n *Node) Members() []Member { return n.peers.list(n.currentMeta()) }

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
	n.bg.Wait()
	n.store.close()
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
	err := n.ml.Shutdown()
	n.bg.Wait()
	n.store.close() // the owner goroutine, the only writer, has exited
	return err
}

// now is the machine's local time: nanoseconds on the node's clock since
// it started.
func (n *Node) now() protocol.Time { return protocol.Time(n.clock.Since(n.start)) }

// localTime converts a machine instant to the node's clock.
func (n *Node) localTime(t protocol.Time) time.Time { return n.start.Add(time.Duration(t)) }

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

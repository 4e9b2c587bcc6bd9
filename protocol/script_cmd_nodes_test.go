package protocol

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// The script's state and the handlers of the commands that start, stop and
// drive nodes: nodes, acquire, release, abandon, cancel, query, crash,
// restart-crashed, shutdown, restart-clean.

// script is the interpreter's state: a harness and what the script holds
// back or remembers.
type script struct {
	t     tb
	path  string
	weak  []Weakening // switched on in every machine (mutants builds only)
	h     *harness
	out   []string
	start Time
	stash []hmsg
	clean map[string][]byte // encoded State of cleanly stopped nodes
	// attempt is the attempt of the last Prepare or Propose each node
	// sent for each name, and nonce the nonce of its last Hello: the
	// defaults of an answer the script sends it.
	attempt map[string]uint64 // node + "/" + name
	nonce   map[string]uint64
	// What each node asked the driver to persist besides its era floor
	// (the harness keeps that): a crashed restart gets it back.
	bounds map[string]Bounds
	peers  map[string][]PeerIncarnation
	quiet  bool // the first starts: record what is persisted, print nothing
}

// applyWeakenings switches weakenings on in a Config; only mutants builds
// set it (script_mutants_test.go).
var applyWeakenings func(*Config, []Weakening)

func cmdNodes(s *script, c command) {
	voters := c.pos
	if v := c.opt["voters"]; v != "" {
		voters = strings.Split(v, ",")
	}
	h := &harness{t: s.t, nodes: map[string]*hnode{}, enc: NewEncoder(), dec: NewDecoder(), events: map[string][]Event{}, now: 1_000_000_000}
	// Scripts run two phases unless they say oneround=on (oneround.go).
	h.cfg = Config{Voters: voters, TwoPhaseAcquire: c.opt["oneround"] != "on"}
	if v, ok := c.opt["maxttl"]; ok {
		h.cfg.MaxTTL = s.dur(v)
	}
	if len(s.weak) > 0 {
		if applyWeakenings == nil {
			s.failf("weakenings need a build with -tags mutants")
		}
		applyWeakenings(&h.cfg, s.weak)
	}
	s.h, s.start, s.clean, s.stash = h, h.now, map[string][]byte{}, nil
	s.attempt, s.nonce = map[string]uint64{}, map[string]uint64{}
	s.bounds, s.peers = map[string]Bounds{}, map[string][]PeerIncarnation{}
	skews := map[string]Time{}
	if v := c.opt["skew"]; v != "" {
		for _, kv := range strings.Split(v, ",") {
			k, d, ok := strings.Cut(kv, ":")
			if !ok || !containsName(c.pos, k) {
				s.failf("bad skew %q: want NODE:DURATION for a node of this command", kv)
			}
			skews[k] = Time(s.dur(d))
		}
	}
	h.onOutput, s.quiet = s.output, true
	for _, n := range c.pos {
		if h.nodes[n] != nil {
			s.failf("node %q named twice", n)
		}
		h.order = append(h.order, n)
		h.nodes[n] = &hnode{name: n, skew: skews[n]}
		h.start(n, Start{Kind: StartFresh})
	}
	s.quiet = false
	h.onEvent = s.event
	h.onSend = func(m hmsg) { s.printf("sent %s", describe(m)) }
	cfg := h.nodes[c.pos[0]].m.Config()
	s.printf("voters=%v D_P(%v)=%v Q=%v", voters, cfg.DefaultTTL, cfg.AttemptDuration(cfg.DefaultTTL), cfg.Quarantine)
}

func containsName(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

// output remembers what the script needs to answer a node (its attempts
// and Hellos) and prints what it asks the driver to persist.
func (s *script) output(node string, out Output) {
	for _, env := range out.Messages {
		switch m := env.Msg.(type) {
		case *Prepare:
			s.attempt[node+"/"+m.Name] = m.Attempt
		case *Propose:
			s.attempt[node+"/"+m.Name] = m.Attempt
		case *Hello:
			s.nonce[node] = m.Nonce
		}
	}
	if !out.PersistBounds.IsZero() {
		s.bounds[node] = out.PersistBounds
	}
	for _, p := range out.PersistPeers {
		s.peers[node] = append(slices.DeleteFunc(s.peers[node], func(q PeerIncarnation) bool { return q.Name == p.Name }), p)
	}
	if s.quiet {
		return
	}
	if out.PersistEra != 0 {
		s.printf("%s: persist era=%d", node, out.PersistEra)
	}
	for _, p := range out.PersistPeers {
		s.printf("%s: persist peer %s boot=%d", node, p.Name, p.Boot)
	}
}

func cmdAcquire(s *script, c command) {
	n := s.node(c.pos[0])
	req := AcquireRequest{Name: c.pos[1], Wait: c.words["wait"]}
	if v, ok := c.opt["ttl"]; ok {
		req.TTL = s.dur(v)
	}
	if v := c.opt["value"]; v != "" {
		req.Value = []byte(v)
	}
	if err := n.m.Acquire(s.h.local(n), req); err != nil {
		s.printf("error: %v", err)
	}
	s.h.collect(n)
}

// cmdEndTenure is release and abandon, of the tenure the node holds or of
// the one token=ERA.ROUND names.
func cmdEndTenure(s *script, c command) {
	n := s.node(c.pos[0])
	token, _, ok := n.m.Holding(c.pos[1])
	if v, given := c.opt["token"]; given {
		e, r, okTok := strings.Cut(v, ".")
		era, err1 := strconv.ParseUint(e, 10, 32)
		round, err2 := strconv.ParseUint(r, 10, 32)
		if !okTok || err1 != nil || err2 != nil {
			s.failf("bad token %q: want ERA.ROUND", v)
		}
		token, ok = Ballot{Era: uint32(era), Round: uint32(round)}.Token(), true
	}
	if !ok {
		s.printf("%s does not hold %s", c.pos[0], c.pos[1])
		return
	}
	var err error
	if c.name == "release" {
		err = n.m.Release(s.h.local(n), c.pos[1], token)
	} else {
		err = n.m.Abandon(s.h.local(n), c.pos[1], token)
	}
	if err != nil {
		s.printf("error: %v", err)
	}
	s.h.collect(n)
}

func cmdCancel(s *script, c command) {
	n := s.node(c.pos[0])
	n.m.Cancel(s.h.local(n), c.pos[1])
	s.h.collect(n)
}

func cmdQuery(s *script, c command) {
	n := s.node(c.pos[0])
	if id, err := n.m.Query(s.h.local(n), c.pos[1]); err != nil {
		s.printf("error: %v", err)
	} else {
		s.printf("query id=%d", id)
	}
	s.h.collect(n)
}

// cmdCrash stops a node without saving anything: what it held in memory
// is gone, its durable era floor stays.
func cmdCrash(s *script, c command) {
	n := s.up(c.pos[0])
	n.m.Stop()
	n.down = true
}

// cmdRestartCrashed starts a node after a crash from what it persisted
// (its era floor, bounds and memory of its peers), or from era=N (0: no
// data dir), as incarnation boot=N.
func cmdRestartCrashed(s *script, c command) {
	n := s.down(c.pos[0])
	era := n.era
	if v, ok := c.opt["era"]; ok {
		era = uint32(s.uintBits(v, 32))
	}
	s.h.start(n.name, Start{Kind: StartCrashed, Era: era, Boot: s.boot(c), Bounds: s.bounds[n.name], Peers: slices.Clone(s.peers[n.name])})
	s.printf("%s: era=%d quarantine=%v", n.name, n.m.Era(), n.m.QuarantineUntil().Sub(s.h.local(n)))
}

// cmdRestartFresh starts a node on an empty data dir, as incarnation
// boot=N: everything it persisted is gone.
func cmdRestartFresh(s *script, c command) {
	n := s.down(c.pos[0])
	n.era = 0
	delete(s.bounds, n.name)
	delete(s.peers, n.name)
	delete(s.clean, n.name)
	s.h.start(n.name, Start{Kind: StartFresh, Boot: s.boot(c)})
	s.printf("%s: era=%d quarantined=%v", n.name, n.m.Era(), n.m.Quarantined(s.h.local(n)))
}

// boot is the incarnation number of boot=N (0 without it: no check of
// the incarnation, R18).
func (s *script) boot(c command) uint64 {
	if v, ok := c.opt["boot"]; ok {
		return s.uint(v)
	}
	return 0
}

// down is node for a node that must be stopped.
func (s *script) down(name string) *hnode {
	n := s.node(name)
	if !n.down {
		s.failf("%s is running: crash or shut it down first", name)
	}
	return n
}

func (s *script) uintBits(v string, bits int) uint64 {
	u, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		s.failf("bad number %q: %v", v, err)
	}
	return u
}

// cmdShutdown stops a node cleanly, keeping its encoded State.
func cmdShutdown(s *script, c command) {
	n := s.up(c.pos[0])
	raw, err := EncodeState(n.m.Snapshot(s.h.local(n)))
	if err != nil {
		s.failf("EncodeState: %v", err)
	}
	s.clean[n.name] = raw
	n.down = true
}

func cmdRestartClean(s *script, c command) {
	n := s.node(c.pos[0])
	raw, ok := s.clean[n.name]
	if !ok || !n.down {
		s.failf("%s was not shut down cleanly", n.name)
	}
	st, err := DecodeState(raw)
	if err != nil {
		s.failf("DecodeState: %v", err)
	}
	delete(s.clean, n.name)
	s.h.start(n.name, Start{Kind: StartClean, State: st, Boot: s.boot(c)})
	s.printf("%s: era=%d quarantined=%v", n.name, n.m.Era(), n.m.Quarantined(s.h.local(n)))
}

// node is the named machine; it fails the command for a name the script
// plays itself or does not know.
func (s *script) node(name string) *hnode {
	n := s.h.nodes[name]
	if n == nil {
		s.failf("no node %q (started: %v)", name, s.h.order)
	}
	return n
}

// up is node for a node that must be running.
func (s *script) up(name string) *hnode {
	n := s.node(name)
	if n.down {
		s.failf("%s is down", name)
	}
	return n
}

func (s *script) dur(v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil {
		s.failf("bad duration %q: %v", v, err)
	}
	return d
}

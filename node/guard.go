package node

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/tenure-dev/tenure/protocol"
)

// twinWindow is how long after this node first saw another process's
// metadata under its own name, at its own address, that metadata may
// still arrive from an earlier process that is gone (its last gossip dying
// out). Seen later, it comes from a live process that refutes this one: a
// second host advertising the same address (R18).
const twinWindow = deadNodeReclaim

// maxReported bounds the guard's memory of what it already logged; past
// it the memory is cleared (and a conflict may be logged again).
const maxReported = 1024

// guard watches gossip for the operator mistakes that break the contract:
// a member of another cluster identity (R17) and a second process under a
// node name (R18). It implements memberlist's AliveDelegate, which sees
// every alive message before memberlist judges it, and ConflictDelegate,
// which memberlist calls when two addresses claim one name. Both run with
// memberlist's locks held: the guard only takes its own lock and the peer
// map's, and never calls memberlist.
type guard struct {
	log        *slog.Logger
	name       string
	self       memberMeta // under mu: it follows the adopted configuration
	nonce      uint64     // self's process nonce, fixed
	nodeID     string     // self's node ID, fixed
	peers      *peers
	duplicates func() // counts a conflict over a name (Stats.DuplicateNames)
	// behind is called, without blocking, when a member of this cluster
	// advertises a newer voter configuration (R21): the node asks.
	behind func()
	now    func() time.Time

	mu       sync.Mutex
	addr     string // this node's advertised address, once known
	joining  bool   // New has not returned: a conflict over our name fails it
	dup      error  // the first such conflict
	idErr    error  // the first member of another identity seen while joining (R17)
	mismatch map[string]memberMeta
	logged   map[string]string    // member name -> what was reported about it
	reported map[string]bool      // conflicts ("name addr") already logged
	twins    map[uint64]time.Time // other nonces seen under our name at our address
}

func newGuard(log *slog.Logger, name string, self memberMeta, p *peers, dup func()) *guard {
	return &guard{
		log: log, name: name, self: self, nonce: self.nonce, nodeID: self.nodeIDString(), peers: p, duplicates: dup, now: time.Now,
		joining:  true,
		mismatch: map[string]memberMeta{},
		logged:   map[string]string{},
		reported: map[string]bool{},
		twins:    map[uint64]time.Time{},
	}
}

// started records this node's address and ends the joining phase: later
// conflicts are logged and counted, and fail nothing. It returns the
// conflict over this node's name found while joining, if any.
func (g *guard) started(addr string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.addr = addr
	g.joining = false
	if g.dup != nil {
		return g.dup
	}
	return g.idErr
}

// NotifyAlive implements memberlist.AliveDelegate. It never refuses a
// member: a mismatched member stays visible so that it can be reported,
// and its datagrams are refused by the protocol (R17).
func (g *guard) NotifyAlive(p *memberlist.Node) error {
	m, ok := decodeMeta(p.Meta)
	if p.Name == g.name {
		if ok && m.ext && m.nonce == g.nonce {
			return nil // this process
		}
		g.otherSelf(p, m)
		return nil
	}
	g.checkIdentity(p, m, ok)
	return nil
}

// otherSelf handles another process's alive message under this node's
// name at this node's own address. The bind proves no other process on
// this host holds the address, so at first it is taken for a process that
// ran here before (a restart) and that memberlist's refutation replaces;
// if it still speaks after twinWindow, it is alive elsewhere (R18).
// Another address is memberlist's conflict, reported by NotifyConflict.
func (g *guard) otherSelf(p *memberlist.Node, m memberMeta) {
	now := g.now()
	g.mu.Lock()
	if g.addr == "" || p.Address() != g.addr {
		g.mu.Unlock()
		return
	}
	first, seen := g.twins[m.nonce]
	if !seen {
		if len(g.twins) >= maxReported {
			clear(g.twins)
		}
		g.twins[m.nonce] = now
		g.mu.Unlock()
		g.log.Info("taking over this node's name from an earlier process at this address", "addr", p.Address(), "earlier_node_id", m.nodeIDString())
		return
	}
	key := fmt.Sprintf("twin %x", m.nonce)
	if now.Sub(first) <= twinWindow || g.reported[key] {
		g.mu.Unlock()
		return
	}
	g.report(key)
	g.mu.Unlock()
	g.duplicates()
	g.log.Error("another live process claims this node's name at this node's own address: two hosts advertise one address (R18); stop one of them",
		"name", g.name, "addr", p.Address(), "node_id", g.nodeID, "other_node_id", m.nodeIDString())
}

// NotifyConflict implements memberlist.ConflictDelegate: two addresses
// claim one name and memberlist kept the first.
func (g *guard) NotifyConflict(existing, other *memberlist.Node) {
	om, _ := decodeMeta(other.Meta)
	if existing.Name == g.name {
		err := fmt.Errorf("%w: node name %q is held by a live process at %s (node ID %s); this process is at %s (node ID %s). "+
			"If that process is gone, start this one again once gossip has noticed (a few seconds); the others reach it once the old one has been dead for %v",
			ErrDuplicateName, g.name, other.Address(), om.nodeIDString(), existing.Address(), g.nodeID, deadNodeReclaim)
		g.mu.Lock()
		if g.joining {
			if g.dup == nil {
				g.dup = err
			}
			g.mu.Unlock()
			return
		}
		key := "self " + other.Address()
		if g.reported[key] {
			g.mu.Unlock()
			return
		}
		g.report(key)
		g.mu.Unlock()
		g.duplicates()
		g.log.Error("another process claims this node's name; the cluster keeps this one (R18)",
			"name", g.name, "addr", existing.Address(), "other_addr", other.Address(), "other_node_id", om.nodeIDString())
		return
	}
	if g.peers.get(existing.Name) == nil {
		// Declared dead or gone: a replacement that came early. memberlist
		// takes it once the old one has been dead for deadNodeReclaim.
		g.log.Warn("a process replaces a dead member under its name; gossip accepts its new address once the old one has been dead long enough",
			"name", existing.Name, "old_addr", existing.Address(), "new_addr", other.Address(), "wait", deadNodeReclaim)
		return
	}
	key := existing.Name + " " + other.Address()
	g.mu.Lock()
	if g.reported[key] {
		g.mu.Unlock()
		return
	}
	g.report(key)
	g.mu.Unlock()
	g.duplicates()
	em, _ := decodeMeta(existing.Meta)
	g.log.Error("two live processes claim one node name; gossip keeps the first (R18)",
		"name", existing.Name, "addr", existing.Address(), "node_id", em.nodeIDString(),
		"other_addr", other.Address(), "other_node_id", om.nodeIDString())
}

// report remembers key as logged. Callers hold mu.
func (g *guard) report(key string) {
	if len(g.reported) >= maxReported {
		clear(g.reported)
	}
	g.reported[key] = true
}

// checkIdentity compares a member's gossiped identity with this node's
// and reports a difference once per member and identity (R17).
func (g *guard) checkIdentity(p *memberlist.Node, m memberMeta, ok bool) {
	g.mu.Lock()
	if !ok || !m.ext {
		// An older version, or a format this one does not know: it cannot
		// say its identity, and if its wire version differs, neither side
		// takes the other's datagrams.
		key := fmt.Sprintf("wire %d %v", m.wire, ok)
		if g.logged[p.Name] == key {
			g.mu.Unlock()
			return
		}
		g.logged[p.Name] = key
		delete(g.mismatch, p.Name)
		g.mu.Unlock()
		if m.wire != protocol.WireVersion {
			g.log.Warn("member speaks another protocol version: neither side takes the other's datagrams until both run one version",
				"member", p.Name, "addr", p.Address(), "member_wire", m.wire, "wire", protocol.WireVersion)
		}
		return
	}
	if m.sameCluster(g.self) {
		// The same identity, or the same cluster at another epoch of its
		// voter configuration: the side behind learns the newer one from
		// the other's datagrams (R21).
		delete(g.mismatch, p.Name)
		delete(g.logged, p.Name)
		ahead := m.id.Epoch > g.self.id.Epoch
		g.mu.Unlock()
		if ahead && g.behind != nil {
			g.behind()
		}
		return
	}
	g.mismatch[p.Name] = m
	self := g.self
	if g.joining && g.idErr == nil {
		// R17: a node that joins a cluster running another configuration
		// refuses to run. Voters are changed online, along one chain of
		// configurations from the initial list; two lists at one epoch, or
		// two initial lists, can each have a majority of their own and
		// grant twice, whatever the datagram check does.
		g.idErr = fmt.Errorf("%w: member %s (%s) runs cluster %q with voters %s, this node cluster %q with voters %s; "+
			"voter configuration epochs %d and %d, initial voter lists %016x and %016x: "+
			"give every node the same --cluster and the list the cluster started with as --voters (tenure voters changes voters online)",
			ErrConfig, p.Name, p.Address(), m.id.Cluster, m.votersOrFingerprint(), self.id.Cluster, self.voters,
			m.id.Epoch, self.id.Epoch, m.genesis, self.genesis)
	}
	key := m.id.String()
	if g.logged[p.Name] == key {
		g.mu.Unlock()
		return
	}
	g.logged[p.Name] = key
	g.mu.Unlock()
	g.log.Error("member runs another cluster configuration: this node refuses its datagrams and it refuses ours (R17); give every node the same --cluster and initial --voters",
		"member", p.Name, "addr", p.Address(),
		"member_cluster", m.id.Cluster, "member_voters", m.votersOrFingerprint(), "member_fingerprint", fmt.Sprintf("%016x", m.id.Voters), "member_epoch", m.id.Epoch,
		"member_initial_voters", fmt.Sprintf("%016x", m.genesis),
		"cluster", self.id.Cluster, "voters", self.voters, "fingerprint", fmt.Sprintf("%016x", self.id.Voters), "epoch", self.id.Epoch,
		"initial_voters", fmt.Sprintf("%016x", self.genesis))
}

// setSelf makes m this node's metadata, after it adopted another voter
// configuration, and forgets the mismatches that no longer are.
func (g *guard) setSelf(m memberMeta) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.self = m
	for name, o := range g.mismatch {
		if o.sameCluster(m) {
			delete(g.mismatch, name)
			delete(g.logged, name)
		}
	}
}

// forget drops what the guard knows of a member that left or died.
func (g *guard) forget(name string) {
	g.mu.Lock()
	delete(g.mismatch, name)
	delete(g.logged, name)
	g.mu.Unlock()
}

// mismatched is how many known members run another identity.
func (g *guard) mismatched() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.mismatch)
}

package node

import (
	"bytes"
	"net/netip"
	"sort"
	"sync"

	"github.com/hashicorp/memberlist"
)

// Member describes one node of the cluster as gossip sees it. It is a hint:
// liveness by gossip decides nothing (R1).
type Member struct {
	// Name is the node's name.
	Name string
	// Addr is its "host:port".
	Addr string
	// Voter reports whether the node says it is a voter.
	Voter bool
	// Wire is the protocol wire version it speaks (0 if unknown).
	Wire byte
	// Cluster is the cluster ID it says it runs, and Fingerprint the
	// fingerprint of its voter list (protocol.Fingerprint); both empty for
	// a node of an older version. VoterList is its sorted voter list,
	// comma-separated, if it fitted in its gossip metadata.
	Cluster     string
	Fingerprint uint64
	VoterList   string
	// NodeID is the ID of its data dir (made at the dir's first start;
	// random per process without one), in hex.
	NodeID string
	// Epoch is the epoch of the voter configuration it runs (R21): 0
	// until the voters are changed online, and for an older version.
	Epoch uint64
	// Mismatch reports that its cluster ID differs from this node's, or
	// its voter list at the same epoch (R17): each side refuses the
	// other's datagrams. Fix the configuration; see
	// Stats.MismatchedMembers. A member at another epoch of this
	// cluster is not a mismatch: the side behind catches up.
	Mismatch bool
}

// peers maps node names to memberlist nodes so that the owner goroutine can
// address a protocol message by name. memberlist keeps it current through
// the EventDelegate methods, which may run with memberlist's locks held:
// they only take peers' own lock.
type peers struct {
	mu    sync.RWMutex
	nodes map[string]*memberlist.Node
	// routes says, per name, where and how to send protocol datagrams;
	// made by put.
	routes map[string]route
	// gone, if set, is told of each member that left or died.
	gone func(name string)
}

// route is how the owner goroutine reaches a peer.
type route struct {
	node *memberlist.Node
	// addr is the peer's UDP address; direct reports that its gossip
	// metadata says it accepts direct datagrams (direct.go).
	addr   netip.AddrPort
	direct bool
	// wire is the protocol wire version its gossip metadata advertises:
	// the datagram form it reads (protocol.Encoder.EncodeFor).
	wire byte
}

func (p *peers) put(n *memberlist.Node) {
	c := *n
	c.Meta = bytes.Clone(n.Meta)
	m, _ := decodeMeta(c.Meta)
	r := route{node: &c, wire: m.wire}
	if ip, ok := netip.AddrFromSlice(c.Addr); ok {
		r.addr, r.direct = netip.AddrPortFrom(ip.Unmap(), c.Port), m.direct
	}
	p.mu.Lock()
	p.nodes[c.Name] = &c
	if p.routes == nil {
		p.routes = map[string]route{}
	}
	p.routes[c.Name] = r
	p.mu.Unlock()
}

// NotifyJoin implements memberlist.EventDelegate.
func (p *peers) NotifyJoin(n *memberlist.Node) { p.put(n) }

// NotifyUpdate implements memberlist.EventDelegate.
func (p *peers) NotifyUpdate(n *memberlist.Node) { p.put(n) }

// NotifyLeave implements memberlist.EventDelegate.
func (p *peers) NotifyLeave(n *memberlist.Node) {
	p.mu.Lock()
	delete(p.nodes, n.Name)
	delete(p.routes, n.Name)
	p.mu.Unlock()
	if p.gone != nil {
		p.gone(n.Name)
	}
}

// count is how many members gossip knows, this node included.
func (p *peers) count() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.nodes)
}

func (p *peers) get(name string) *memberlist.Node {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.nodes[name]
}

// route is how to reach name; ok is false if gossip does not know it.
func (p *peers) route(name string) (r route, ok bool) {
	p.mu.RLock()
	r, ok = p.routes[name]
	p.mu.RUnlock()
	return r, ok
}

// list describes the members; self is this node's metadata, against
// which Mismatch is judged.
func (p *peers) list(self memberMeta) []Member {
	p.mu.RLock()
	out := make([]Member, 0, len(p.nodes))
	for _, n := range p.nodes {
		m, _ := decodeMeta(n.Meta)
		mb := Member{Name: n.Name, Addr: n.Address(), Voter: m.voter, Wire: m.wire}
		if m.ext {
			mb.Cluster, mb.Fingerprint, mb.VoterList, mb.NodeID = m.id.Cluster, m.id.Voters, m.voters, m.nodeIDString()
			mb.Epoch = m.id.Epoch
			mb.Mismatch = !m.sameCluster(self)
		}
		out = append(out, mb)
	}
	p.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

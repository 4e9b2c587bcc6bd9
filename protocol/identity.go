package protocol

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// MaxClusterLen is the longest cluster ID, in bytes.
const MaxClusterLen = 64

// Identity is what every datagram says about the configuration its sender
// runs (R17): the cluster ID and a fingerprint of the voter list. Quorums
// are majorities of the voter list, so two nodes with different lists can
// each count a "majority" that the other does not intersect; acceptors
// answer, and proposers count, only datagrams of their own identity.
//
// The fingerprint covers the voter list only. MaxTTL and MaxDrift are
// per-node bounds that are safe to differ (an acceptor refuses a TTL above
// its own MaxTTL, and R19 makes the quarantine cover every TTL it ever
// accepted), so a rolling change of them stays possible.
type Identity struct {
	// Cluster is the cluster ID (Config.Cluster).
	Cluster string
	// Voters is the fingerprint of the voter configuration
	// (Membership.Fingerprint): of the voter list alone at epoch 0.
	Voters uint64
	// Epoch is the configuration epoch (R21); zero until the voters are
	// first changed.
	Epoch uint64
	// Genesis is, from epoch 1 on, the fingerprint of the cluster's
	// initial voter list (Config.Voters): the chain of configurations a
	// datagram of another epoch belongs to. Zero at epoch 0, where Voters
	// is that fingerprint.
	Genesis uint64
}

// chain is the fingerprint of the initial voter list id belongs to.
func (id Identity) chain() uint64 {
	if id.Epoch == 0 {
		return id.Voters
	}
	return id.Genesis
}

// String formats the identity as cluster/fingerprint, with @epoch once
// the voters were changed.
func (id Identity) String() string {
	if id.Epoch == 0 {
		return fmt.Sprintf("%s/%016x", id.Cluster, id.Voters)
	}
	return fmt.Sprintf("%s/%016x@%d", id.Cluster, id.Voters, id.Epoch)
}

// Fingerprint hashes a voter list independently of its order: FNV-1a over
// the sorted names, each preceded by its length.
func Fingerprint(voters []string) uint64 {
	s := slices.Clone(voters)
	slices.Sort(s)
	h := fnv.New64a()
	var n [4]byte
	for _, v := range s {
		binary.BigEndian.PutUint32(n[:], uint32(len(v)))
		h.Write(n[:])
		h.Write([]byte(v))
	}
	return h.Sum64()
}

// Identity is the identity this configuration gives its datagrams.
func (c *Config) Identity() Identity {
	return Identity{Cluster: c.Cluster, Voters: Fingerprint(c.Voters)}
}

// VoterList formats a voter list sorted, for logs that name both sides of
// a mismatch.
func VoterList(voters []string) string {
	s := slices.Clone(voters)
	slices.Sort(s)
	return strings.Join(s, ",")
}

// Header is what a datagram says before its messages: who sent it and the
// identity it runs.
type Header struct {
	From string
	ID   Identity
}

// Admit reports whether the machine takes a datagram with header h (R17):
// only one of its own identity. A refused datagram is counted
// (Counters.Mismatched) and must be dropped whole by the driver, which
// should say so loudly (both identities) the first time a sender mismatches.
func (m *Machine) Admit(h Header) bool {
	if h.ID == m.id || m.cfg.Weaken.has(WeakNoIdentity) {
		return true
	}
	m.counters.Mismatched++
	return false
}

// ID is the identity this machine's datagrams carry.
func (m *Machine) ID() Identity { return m.id }

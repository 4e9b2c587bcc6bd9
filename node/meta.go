package node

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/tenure-dev/tenure/protocol"
)

// metaFormat is the first byte of a node's gossiped metadata. ONLY APPEND.
const metaFormat = 1

// Bits of the metadata flags byte. ONLY APPEND.
const (
	metaVoter = 1 << 0
	// metaDirect: the node accepts direct protocol datagrams (direct.go).
	metaDirect = 1 << 1
)

// Layout of the metadata, format 1. The first three bytes are all the
// first version wrote; later fields are appended, so an older node reads
// what it knows and ignores the rest. ONLY APPEND.
//
//	0      metaFormat
//	1      the newest protocol wire version the node reads
//	       (protocol.WireVersionRuns; peers send it that form)
//	2      flags (metaVoter, metaDirect)
//	3-18   node ID (16 bytes, from the data dir's identity file)
//	19-26  process nonce, big-endian: random per process (R18)
//	27-34  voter-list fingerprint, big-endian (R17)
//	35     length of the cluster ID, then the ID
//	then   2-byte big-endian length of the sorted, comma-separated voter
//	       list, then the list; length 0 when it would not fit
//	       memberlist's limit (the fingerprint still tells a mismatch)
//	then   the voter configuration's epoch (R21), 8 bytes big-endian,
//	       and the fingerprint of the cluster's initial voter list (the
//	       data dir's first Voters), 8 bytes; both absent from a node of
//	       a version before online voter changes (read as 0: unknown)
const metaFixed = 35

// memberMeta is what a node says about itself in gossip. It is a hint for
// diagnosis: quorums come from the adopted voter configuration (R1, R21), and the identity that
// decides what a node answers travels in every datagram (R17).
type memberMeta struct {
	wire  byte
	voter bool
	// direct: the node accepts direct datagrams (metaDirect).
	direct bool
	// ext reports whether the fields below were present (a node of this
	// version or later).
	ext    bool
	nodeID [16]byte
	nonce  uint64
	id     protocol.Identity
	voters string // sorted, comma-separated; "" if it did not fit
	// genesis is the fingerprint of the voter list the cluster started
	// with (epoch 0, R21): the configurations of one cluster form one
	// chain from it. 0 if unknown (an older node).
	genesis uint64
}

// encode writes m, with the voter list only if the whole fits in limit
// bytes.
func (m *memberMeta) encode(limit int) []byte {
	var flags byte
	if m.voter {
		flags |= metaVoter
	}
	if m.direct {
		flags |= metaDirect
	}
	b := make([]byte, 0, metaFixed+1+len(m.id.Cluster)+2+len(m.voters))
	b = append(b, metaFormat, m.wire, flags)
	b = append(b, m.nodeID[:]...)
	b = binary.BigEndian.AppendUint64(b, m.nonce)
	b = binary.BigEndian.AppendUint64(b, m.id.Voters)
	b = append(b, byte(len(m.id.Cluster)))
	b = append(b, m.id.Cluster...)
	if len(b)+2+len(m.voters)+16 <= limit && len(m.voters) < 1<<16 {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.voters)))
		b = append(b, m.voters...)
	} else {
		b = binary.BigEndian.AppendUint16(b, 0)
	}
	b = binary.BigEndian.AppendUint64(b, m.id.Epoch)
	return binary.BigEndian.AppendUint64(b, m.genesis)
}

// decodeMeta reads what encode wrote, or the three bytes of the first
// version (ext false); ok is false for metadata of an unknown format.
func decodeMeta(b []byte) (m memberMeta, ok bool) {
	if len(b) < 3 || b[0] != metaFormat {
		return memberMeta{}, false
	}
	m.wire, m.voter, m.direct = b[1], b[2]&metaVoter != 0, b[2]&metaDirect != 0
	if len(b) < metaFixed+1 {
		return m, true
	}
	cl := int(b[metaFixed])
	rest := b[metaFixed+1:]
	if len(rest) < cl {
		return m, true // truncated: treat as an older node's
	}
	copy(m.nodeID[:], b[3:19])
	m.nonce = binary.BigEndian.Uint64(b[19:27])
	m.id = protocol.Identity{Cluster: string(rest[:cl]), Voters: binary.BigEndian.Uint64(b[27:35])}
	m.ext = true
	rest = rest[cl:]
	if len(rest) >= 2 {
		if n := int(binary.BigEndian.Uint16(rest)); len(rest)-2 >= n {
			m.voters = string(rest[2 : 2+n])
			if rest = rest[2+n:]; len(rest) >= 8 {
				m.id.Epoch = binary.BigEndian.Uint64(rest)
			}
			if len(rest) >= 16 {
				m.genesis = binary.BigEndian.Uint64(rest[8:])
			}
		}
	}
	return m, true
}

// sameChain reports whether a member's gossiped identity a belongs to the
// cluster configuration chain of b (R17, R21): the same cluster ID, and
// either another epoch (one side is behind; the datagrams bring it up to
// date, Machine.Deliver) or the same epoch and the same voters. Two lists
// at one epoch are a misconfiguration: each may have a majority.
func sameChain(a, b protocol.Identity) bool {
	return a.Cluster == b.Cluster && (a.Epoch != b.Epoch || a.Voters == b.Voters)
}

// sameCluster is sameChain for two members' metadata, which also refuses
// two chains that began from different voter lists (R17): two clusters
// under one cluster ID, whose configurations at different epochs would
// otherwise look like one cluster's, one side behind.
func (m memberMeta) sameCluster(o memberMeta) bool {
	if m.genesis != 0 && o.genesis != 0 && m.genesis != o.genesis {
		return false
	}
	return sameChain(m.id, o.id)
}

// votersOrFingerprint names a voter list for a log line: the list if the
// metadata carried it, else its fingerprint.
func (m *memberMeta) votersOrFingerprint() string {
	if m.voters != "" {
		return m.voters
	}
	return "fingerprint " + hex.EncodeToString(binary.BigEndian.AppendUint64(nil, m.id.Voters))
}

// nodeIDString is the node ID in hex, as the identity file holds it.
func (m *memberMeta) nodeIDString() string { return hex.EncodeToString(m.nodeID[:]) }

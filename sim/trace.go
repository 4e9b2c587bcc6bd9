package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/tenure-dev/tenure/protocol"
)

// trKind is the kind of one trace record.
type trKind uint8

// Trace record kinds.
const (
	trDeliver  trKind = 1 + iota // datagram handled: node=to, peer=from, a=msg types, b=bytes
	trQueued                     // datagram queued at a paused node
	trDrop                       // datagram lost: a=dropReason
	trTick                       // machine ticked
	trAcquired                   // protocol events: a=token, b=deadline (local)
	trRenewed
	trLost
	trReleased
	trFailed
	trReqAcquire // client calls: a=1 for Wait
	trReqRelease // a=token
	trReqAbandon // a=token
	trReqCancel
	trWriteSent     // a=token
	trWriteAccepted // a=token
	trWriteRejected // a=token, b=highest
	trCrash
	trShutdown
	trRestart // a=era the machine started with, b=1 for a clean start
	trPause   // b=duration
	trUnpause // a=queued datagrams
	trPartition
	trHeal
	trRate // b=rate error in parts per billion
	trQuiet
	trViolation
	trOp        // an operator's action: a=op (operator.go), b=detail
	trEdgeSend  // node=client, peer=agent node: a=op, b=token
	trEdgeRecv  // node=client, peer=agent node: a=op, b=deadline_ms
	trAgentRecv // node=agent node, peer=client: a=op, b=token
	trAgentFree // node=agent node, peer=client: a=token, b=why
)

// dropReason says why a datagram vanished.
const (
	dropLoss = 1 + iota
	dropCut
	dropDown
	dropHand // dropped by a test
)

// record is one line of the trace. The trace is the sequence of records;
// its digest is the sha256 of their fixed 32-byte binary form, and text is
// rendered only when asked for (the ring buffer at a violation, or
// Options' trace writer).
type record struct {
	at    int64
	kind  trKind
	node  uint16 // noNode: none
	peer  uint16
	lease int16 // -1: none
	a     uint64
	b     int64
}

// noNode is the node (or peer) of a record about no node.
const noNode = 0xffff

// holderBytes is the binary form of a record's node or peer: the low byte,
// and a high byte that is zero below index 255. Index 255 and above have a
// high byte of (index>>8)+1, so every index stays apart from noNode, whose
// form is (255, 0): the form of every record of a run with fewer than 255
// holders, and so its digest, is what it was when these fields were bytes.
func holderBytes(i uint16) (lo, hi byte) {
	switch {
	case i == noNode:
		return 255, 0
	case i < 255:
		return byte(i), 0
	}
	return byte(i), byte(i>>8) + 1
}

// ringSize is how many recent records a violation report shows.
const ringSize = 50

// tracer keeps the digest, the ring of recent records and the optional text
// trace.
type tracer struct {
	h    hash.Hash
	buf  []byte
	ring [ringSize]record
	n    uint64 // records so far
	text io.Writer
	sim  *Sim
}

func newTracer(s *Sim, text io.Writer) *tracer {
	return &tracer{h: sha256.New(), buf: make([]byte, 0, 8192), text: text, sim: s}
}

func (t *tracer) add(r record) {
	t.ring[t.n%ringSize] = r
	t.n++
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(r.at))
	b[8] = byte(r.kind)
	b[9], b[13] = holderBytes(r.node)
	b[10], b[14] = holderBytes(r.peer)
	binary.LittleEndian.PutUint16(b[11:], uint16(r.lease))
	binary.LittleEndian.PutUint64(b[16:], r.a)
	binary.LittleEndian.PutUint64(b[24:], uint64(r.b))
	b[15] = 0
	t.buf = append(t.buf, b[:]...)
	if len(t.buf) >= 8192-32 {
		t.h.Write(t.buf)
		t.buf = t.buf[:0]
	}
	if t.text != nil {
		fmt.Fprintln(t.text, t.sim.format(r))
	}
}

// digest is the hex sha256 of the trace so far.
func (t *tracer) digest() string {
	if len(t.buf) > 0 {
		t.h.Write(t.buf)
		t.buf = t.buf[:0]
	}
	return hex.EncodeToString(t.h.Sum(nil))
}

// last returns the most recent records, oldest first, rendered as text.
func (t *tracer) last() []string {
	k := min(t.n, ringSize)
	out := make([]string, 0, k)
	for i := t.n - k; i < t.n; i++ {
		out = append(out, t.sim.format(t.ring[i%ringSize]))
	}
	return out
}

// fmtTime renders a true instant as seconds with microseconds.
func fmtTime(ns int64) string { return fmt.Sprintf("%d.%06ds", ns/1e9, ns%1e9/1e3) }

func (s *Sim) nodeName(i uint16) string { return s.holderName(int(i)) }

func (s *Sim) leaseName(l int16) string {
	if l >= 0 && int(l) < len(s.leases) {
		return s.leases[l]
	}
	return "-"
}

// format renders one record as a trace line.
func (s *Sim) format(r record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%12s ", fmtTime(r.at))
	n, p, l := s.nodeName(r.node), s.nodeName(r.peer), s.leaseName(r.lease)
	tok := func(t uint64) string {
		e, rd := protocol.TokenBallot(t)
		return fmt.Sprintf("%d.%d", e, rd)
	}
	switch r.kind {
	case trDeliver, trQueued:
		verb := "recv"
		if r.kind == trQueued {
			verb = "queue"
		}
		fmt.Fprintf(&b, "%-4s %s<-%s %s [%s] %dB", n, verb, p, l, msgTypes(r.a), r.b)
	case trDrop:
		why := [...]string{"", "lost", "cut", "down", "dropped"}[min(int(r.a), 4)]
		fmt.Fprintf(&b, "%-4s drop %s<-%s %s (%s)", n, n, p, l, why)
	case trTick:
		fmt.Fprintf(&b, "%-4s tick", n)
	case trAcquired, trRenewed, trLost, trReleased:
		name := map[trKind]string{trAcquired: "ACQUIRED", trRenewed: "renewed", trLost: "LOST", trReleased: "RELEASED"}[r.kind]
		fmt.Fprintf(&b, "%-4s %s %s token=%s deadline(local)=%s", n, name, l, tok(r.a), fmtTime(r.b))
	case trFailed:
		fmt.Fprintf(&b, "%-4s acquire %s failed", n, l)
	case trReqAcquire:
		mode := "try"
		if r.a == 1 {
			mode = "wait"
		}
		fmt.Fprintf(&b, "%-4s client acquire %s (%s)", n, l, mode)
	case trReqRelease:
		fmt.Fprintf(&b, "%-4s client release %s token=%s", n, l, tok(r.a))
	case trReqAbandon:
		fmt.Fprintf(&b, "%-4s client abandon %s token=%s", n, l, tok(r.a))
	case trReqCancel:
		fmt.Fprintf(&b, "%-4s client cancel %s", n, l)
	case trWriteSent:
		fmt.Fprintf(&b, "%-4s write %s token=%s sent", n, l, tok(r.a))
	case trWriteAccepted:
		fmt.Fprintf(&b, "%-4s write %s token=%s accepted by resource", n, l, tok(r.a))
	case trWriteRejected:
		fmt.Fprintf(&b, "%-4s write %s token=%s rejected (resource has %s)", n, l, tok(r.a), tok(uint64(r.b)))
	case trCrash:
		fmt.Fprintf(&b, "%-4s CRASH", n)
	case trShutdown:
		fmt.Fprintf(&b, "%-4s clean shutdown", n)
	case trRestart:
		how := "after crash"
		switch r.b {
		case 1:
			how = "clean"
		case 2:
			how = "fresh, as a new cluster"
		}
		fmt.Fprintf(&b, "%-4s restart (%s) era=%d", n, how, r.a)
	case trPause:
		fmt.Fprintf(&b, "%-4s PAUSE for %s", n, fmtTime(r.b))
	case trUnpause:
		fmt.Fprintf(&b, "%-4s wakes, %d datagrams queued", n, r.a)
	case trPartition:
		fmt.Fprintf(&b, "%-4s PARTITION #%d: %s", "net", r.a, s.partitionDesc(int(r.a)))
	case trHeal:
		fmt.Fprintf(&b, "%-4s heal #%d", "net", r.a)
	case trRate:
		fmt.Fprintf(&b, "%-4s clock rate 1%+.6f", n, float64(r.b)/1e9)
	case trQuiet:
		fmt.Fprintf(&b, "%-4s faults stop: heal all, restart all, wake all", "sim")
	case trViolation:
		fmt.Fprintf(&b, "%-4s VIOLATION %s", "sim", l)
	case trOp:
		who := n
		if r.node == noNode {
			who = "op"
		}
		if r.a == opOpened {
			fmt.Fprintf(&b, "%-4s OPERATOR %s %d (tokens granted when the operator acted: era %d)", who, opNames[opOpened], r.b>>32, r.b&0xffffffff)
			break
		}
		if name, ok := reconfigOpName(r.a); ok {
			fmt.Fprintf(&b, "%-4s RECONFIG %s %d", who, name, r.b)
			break
		}
		fmt.Fprintf(&b, "%-4s OPERATOR %s (%d)", who, opNames[min(int(r.a), len(opNames)-1)], r.b)
	case trEdgeSend:
		fmt.Fprintf(&b, "%-4s -> agent %s: %s %s token=%s", n, p, mNames[min(int(r.a), len(mNames)-1)], l, tok(uint64(r.b)))
	case trEdgeRecv:
		fmt.Fprintf(&b, "%-4s <- agent %s: %s %s deadline_ms=%d", n, p, mNames[min(int(r.a), len(mNames)-1)], l, r.b)
	case trAgentRecv:
		fmt.Fprintf(&b, "%-4s agent <- %s: %s %s token=%s", n, p, mNames[min(int(r.a), len(mNames)-1)], l, tok(uint64(r.b)))
	case trAgentFree:
		why := [...]string{"", "client's DELETE", "keepalive expiry", "broken stream's last deadline", "agent stop (weakened)"}[min(int(r.b), 4)]
		fmt.Fprintf(&b, "%-4s agent frees %s token=%s of %s: %s", n, l, tok(r.a), p, why)
	default:
		fmt.Fprintf(&b, "record kind %d", r.kind)
	}
	return b.String()
}

// typeBits is the width of one message type in a packed record: wide
// enough for every type the protocol has (a test checks).
const typeBits = 5

// packTypes packs up to 64/typeBits message types, typeBits bits each.
func packTypes(msgs []protocol.Message) uint64 {
	var a uint64
	for i, m := range msgs {
		if (i+1)*typeBits > 64 {
			break
		}
		a |= uint64(m.Type()&(1<<typeBits-1)) << (typeBits * i)
	}
	return a
}

// msgTypes names the message types packTypes packed.
func msgTypes(a uint64) string {
	var parts []string
	for ; a != 0; a >>= typeBits {
		parts = append(parts, protocol.MsgType(a&(1<<typeBits-1)).String())
	}
	return strings.Join(parts, " ")
}

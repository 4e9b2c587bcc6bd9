package node

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"

	"github.com/tenure-dev/tenure/protocol"
)

// The direct path. Protocol datagrams travel on the node's own UDP socket,
// the one memberlist gossips on, but they bypass memberlist: the
// transport's read loop recognises them by their first byte and hands
// them, unwrapped, straight to the owner goroutine (one goroutine wake-up
// per datagram; memberlist's path costs four: read loop, packet handler,
// hand-off queue, owner). memberlist keeps gossip and failure detection.
//
// Layout of a direct datagram:
//
//	byte 0   directMagic
//	then     the cluster label as memberlist frames it (byte 244, length,
//	         label), absent when the label is empty
//	then     directPlain or directSealed
//	then     plain:  the protocol datagram (protocol.WireVersion first)
//	         sealed: a 12-byte random nonce, the protocol datagram
//	                 encrypted with AES-GCM under the cluster's key, and
//	                 the 16-byte tag; the additional data is every byte
//	                 before the nonce (magic, label header, kind)
//
// Security equals memberlist's own packets: with a key (Config.SecretKey,
// the keyring memberlist uses) every direct datagram is sealed with the
// keyring's primary key and opened with any of its keys, and a plain one
// is refused; without a key a sealed one is refused; the label must equal
// this node's exactly. The magic, the label and the kind are
// authenticated, so a sealed memberlist packet cannot pass for a direct
// datagram or the reverse. Like memberlist, the path has no replay
// protection: the protocol's ballots make replays harmless (R2-R5).
//
// Nodes say in their gossip metadata that they accept direct datagrams
// (metaDirect); a node sends through memberlist to a peer that does not
// (an older version), so a cluster upgrades one node at a time.
const (
	// directMagic is the first byte of every direct datagram. memberlist
	// never starts a UDP packet with it: its packets begin with a message
	// type (0-13 in v0.7), an encryption version (0 or 1) or its label
	// marker (244).
	directMagic byte = 0xD1
	directPlain byte = 0
	// directSealed marks an AES-GCM sealed datagram.
	directSealed byte = 1
	// directSealOverhead is the nonce and the tag.
	directSealOverhead = 12 + 16
	// maxDirect is the largest direct datagram accepted: a full protocol
	// datagram with the longest label, sealed. Larger ones are refused
	// before any decryption is tried.
	maxDirect = protocol.MaxDatagram + 1 + 2 + memberlist.LabelMaxSize + 1 + directSealOverhead
)

var (
	// errDirectForeign means a direct datagram is not this cluster's: its
	// label differs, it is sealed with no key this node has (or was
	// altered), it is plain while this cluster encrypts, or sealed while
	// it does not.
	errDirectForeign = errors.New("node: direct datagram of another cluster (label or key)")
	// errDirectMalformed means a direct datagram is cut short or its
	// framing is not understood.
	errDirectMalformed = errors.New("node: malformed direct datagram")
)

// directCodec seals and opens direct datagrams with one cluster label and
// keyring. It caches one cipher per key, so it is not safe for concurrent
// use: each goroutine has its own (the owner goroutine sends, the
// transport's read loop receives).
type directCodec struct {
	label   string
	keyring *memberlist.Keyring // nil: plaintext, as memberlist without a key
	// header is what every sealed (or plain) datagram this node sends
	// starts with: magic, label header, kind.
	header []byte
	aeads  map[string]cipher.AEAD
}

// newDirectCodec builds a codec for label and keyring (nil for none).
func newDirectCodec(label string, keyring *memberlist.Keyring) (*directCodec, error) {
	kind := directPlain
	if keyring != nil && len(keyring.GetKeys()) > 0 {
		kind = directSealed
	} else {
		keyring = nil
	}
	lh, err := memberlist.AddLabelHeaderToPacket([]byte{kind}, label)
	if err != nil {
		return nil, fmt.Errorf("node: label: %w", err)
	}
	return &directCodec{
		label:   label,
		keyring: keyring,
		header:  append([]byte{directMagic}, lh...),
		aeads:   map[string]cipher.AEAD{},
	}, nil
}

// clone is a codec of the same cluster with a cipher cache of its own, for
// another goroutine.
func (c *directCodec) clone() *directCodec {
	d := *c
	d.aeads = map[string]cipher.AEAD{}
	return &d
}

// aead is the cipher of key, made once.
func (c *directCodec) aead(key []byte) (cipher.AEAD, error) {
	if a, ok := c.aeads[string(key)]; ok {
		return a, nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	c.aeads[string(key)] = a
	return a, nil
}

// seal appends to dst the direct datagram carrying payload (one protocol
// datagram).
func (c *directCodec) seal(dst, payload []byte) ([]byte, error) {
	dst = append(dst, c.header...)
	if c.keyring == nil {
		return append(dst, payload...), nil
	}
	a, err := c.aead(c.keyring.GetPrimaryKey())
	if err != nil {
		return nil, err
	}
	return a.Seal(dst, nil, payload, c.header), nil
}

// open checks the direct datagram b (directMagic first) and appends its
// protocol datagram to dst. Its errors wrap errDirectForeign or
// errDirectMalformed. b is not modified and may be reused after it
// returns.
func (c *directCodec) open(dst, b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != directMagic {
		return nil, fmt.Errorf("%w: %d bytes, no direct header", errDirectMalformed, len(b))
	}
	if len(b) > maxDirect {
		return nil, fmt.Errorf("%w: %d bytes, over %d", errDirectMalformed, len(b), maxDirect)
	}
	rest, label, err := memberlist.RemoveLabelHeaderFromPacket(b[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDirectMalformed, err)
	}
	if label != c.label {
		return nil, fmt.Errorf("%w: label %q", errDirectForeign, label)
	}
	if len(rest) < 1 {
		return nil, fmt.Errorf("%w: no kind byte", errDirectMalformed)
	}
	kind, body := rest[0], rest[1:]
	header := b[:len(b)-len(body)]
	switch {
	case kind != directPlain && kind != directSealed:
		return nil, fmt.Errorf("%w: unknown kind %d", errDirectMalformed, kind)
	case c.keyring == nil && kind == directSealed:
		return nil, fmt.Errorf("%w: sealed, and this node has no key", errDirectForeign)
	case c.keyring != nil && kind == directPlain:
		return nil, fmt.Errorf("%w: plaintext, and this cluster encrypts", errDirectForeign)
	case kind == directPlain:
		return append(dst, body...), nil
	}
	if len(body) < directSealOverhead {
		return nil, fmt.Errorf("%w: sealed body of %d bytes", errDirectMalformed, len(body))
	}
	for _, key := range c.keyring.GetKeys() { // the primary key first
		a, err := c.aead(key)
		if err != nil {
			continue
		}
		if p, err := a.Open(dst, nil, body, header); err == nil {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w: no key of this node opens it", errDirectForeign)
}

// directReader opens the datagrams the transport's read loop hands over,
// into memory carved from a slab (the owner goroutine keeps each payload
// until it has decoded it). It is owned by the read loop.
type directReader struct {
	codec *directCodec
	slab  []byte
}

// open returns b's protocol datagram in memory of its own.
func (r *directReader) open(b []byte) ([]byte, error) {
	if len(r.slab) < len(b) { // the payload is never longer than b
		r.slab = make([]byte, max(slabSize, len(b)))
	}
	p, err := r.codec.open(r.slab[:0:len(b)], b)
	if err != nil {
		return nil, err
	}
	r.slab = r.slab[len(p):]
	return p[:len(p):len(p)], nil
}

// directPath is a node's end of the direct path.
type directPath struct {
	// tr is the transport that carries it; nil when Config.Transport
	// replaced the node's own (the node then sends and receives through
	// memberlist only).
	tr *udpTransport
	// send is false with Config.MemberlistDatagrams: the node still
	// receives direct datagrams, and sends through memberlist.
	send bool
	// Owned by the owner goroutine.
	out   *directCodec
	frame []byte
	// Owned by the transport's read loop.
	in *directReader
}

// sendDatagram sends one protocol datagram to a peer: directly when both
// ends have the direct path, else as a memberlist user message.
func (n *Node) sendDatagram(r route, b []byte) {
	d := &n.direct
	var err error
	if d.send && r.direct && d.tr != nil {
		d.frame, err = d.out.seal(d.frame[:0], b)
		if err == nil {
			err = d.tr.writeDirect(d.frame, r.addr)
		}
		if err == nil {
			n.stats.directOut.Add(1)
		}
	} else {
		err = n.ml.SendBestEffort(r.node, b)
	}
	if err != nil {
		n.stats.sendErrors.Add(1)
		n.log.Debug("send failed", "peer", r.node.Name, "err", err)
		return
	}
	n.stats.packetsOut.Add(1)
	n.stats.bytesOut.Add(uint64(len(b)))
}

package node

import (
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-sockaddr"
	"github.com/hashicorp/memberlist"
)

// udpTransport is the node's default memberlist transport: UDP for packets,
// a TCP connection per stream, like memberlist's NetTransport, with one
// difference that matters on the lease path. NetTransport allocates a fresh
// 64 KiB buffer for every datagram it receives (memberlist keeps the slice
// it is handed), so each protocol message of a few hundred bytes cost a
// 64 KiB allocation and its clearing, and the garbage collector ran
// constantly (measured: 133,840 B per round trip). This transport reads
// into one reused buffer and hands memberlist a copy of exactly the bytes
// received, carved from a shared slab.
//
// It also carries the node's direct path (direct.go): a datagram whose
// first byte is directMagic is handed to direct, on the read loop, instead
// of to memberlist.
type udpTransport struct {
	tcp      *net.TCPListener
	udp      *net.UDPConn
	bindIP   net.IP
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	logger   *log.Logger
	wg       sync.WaitGroup
	shutdown atomic.Bool
	done     chan struct{} // closed by Shutdown: hand-offs give up
	// direct, if set before the first datagram arrives, receives every
	// direct datagram; it must not keep b, nor block.
	direct func(b []byte)
}

var _ memberlist.NodeAwareTransport = (*udpTransport)(nil)

const (
	// udpReadBuf is the largest datagram read, as in memberlist.
	udpReadBuf = 65536
	// slabSize is how much receive memory is allocated at a time; received
	// packets are copied into it back to back.
	slabSize = 64 << 10
	// udpSocketBuf is the kernel receive buffer asked for; the kernel may
	// grant less (rmem_max).
	udpSocketBuf = 4 << 20
)

// newUDPTransport binds TCP and UDP on addr:port (port 0 picks a free port,
// the same for both). direct, if not nil, receives the direct datagrams.
func newUDPTransport(addr string, port int, logger *log.Logger, direct func(b []byte)) (*udpTransport, error) {
	ip := net.ParseIP(addr)
	if ip == nil {
		return nil, fmt.Errorf("node: bind address %q is not an IP address", addr)
	}
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, fmt.Errorf("node: listen TCP %s port %d: %w", addr, port, err)
	}
	if port == 0 {
		port = tcp.Addr().(*net.TCPAddr).Port
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		_ = tcp.Close()
		return nil, fmt.Errorf("node: listen UDP %s port %d: %w", addr, port, err)
	}
	_ = udp.SetReadBuffer(udpSocketBuf) // best effort: the kernel caps it
	t := &udpTransport{
		tcp:      tcp,
		udp:      udp,
		bindIP:   ip,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		logger:   logger,
		done:     make(chan struct{}),
		direct:   direct,
	}
	t.wg.Add(2)
	go t.acceptLoop()
	go t.readLoop()
	return t, nil
}

// port is the bound port.
func (t *udpTransport) port() int { return t.tcp.Addr().(*net.TCPAddr).Port }

// FinalAdvertiseAddr implements memberlist.Transport: the given address if
// any, else the bound one, else (bound to all interfaces) a private address
// of this host.
func (t *udpTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	if ip != "" {
		a := net.ParseIP(ip)
		if a == nil {
			return nil, 0, fmt.Errorf("node: advertise address %q is not an IP address", ip)
		}
		if a4 := a.To4(); a4 != nil {
			a = a4
		}
		return a, port, nil
	}
	if !t.bindIP.IsUnspecified() {
		return t.bindIP, t.port(), nil
	}
	private, err := sockaddr.GetPrivateIP()
	if err != nil {
		return nil, 0, fmt.Errorf("node: find a private address to advertise: %w", err)
	}
	if private == "" {
		return nil, 0, errors.New("node: no private IP address found; bind to an explicit address")
	}
	return net.ParseIP(private), t.port(), nil
}

// WriteTo implements memberlist.Transport.
func (t *udpTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport.
func (t *udpTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	ap, err := netip.ParseAddrPort(a.Addr)
	if err != nil {
		ua, rerr := net.ResolveUDPAddr("udp", a.Addr)
		if rerr != nil {
			return time.Time{}, rerr
		}
		ap = ua.AddrPort()
	}
	_, err = t.udp.WriteToUDPAddrPort(b, ap)
	return time.Now(), err
}

// writeDirect sends one direct datagram to a peer's UDP address.
func (t *udpTransport) writeDirect(b []byte, to netip.AddrPort) error {
	_, err := t.udp.WriteToUDPAddrPort(b, to)
	return err
}

// PacketCh implements memberlist.Transport.
func (t *udpTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// DialTimeout implements memberlist.Transport.
func (t *udpTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport.
func (t *udpTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	return d.Dial("tcp", a.Addr)
}

// StreamCh implements memberlist.Transport.
func (t *udpTransport) StreamCh() <-chan net.Conn { return t.streamCh }

// Shutdown implements memberlist.Transport: it closes both listeners and
// waits for their goroutines.
func (t *udpTransport) Shutdown() error {
	if t.shutdown.Swap(true) {
		return nil
	}
	close(t.done)
	_ = t.tcp.Close()
	_ = t.udp.Close()
	t.wg.Wait()
	return nil
}

func (t *udpTransport) acceptLoop() {
	defer t.wg.Done()
	delay := time.Duration(0)
	for {
		conn, err := t.tcp.AcceptTCP()
		if err != nil {
			if t.shutdown.Load() {
				return
			}
			// A transient accept error (too many files): back off.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.logger.Printf("[ERR] node: accept TCP: %v", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		select {
		case t.streamCh <- conn:
		case <-t.done:
			_ = conn.Close()
			return
		}
	}
}

func (t *udpTransport) readLoop() {
	defer t.wg.Done()
	buf := make([]byte, udpReadBuf)
	var slab []byte
	for {
		n, addr, err := t.udp.ReadFromUDPAddrPort(buf)
		ts := time.Now()
		if err != nil {
			if t.shutdown.Load() {
				return
			}
			t.logger.Printf("[ERR] node: read UDP: %v", err)
			continue
		}
		if n < 1 {
			continue
		}
		if buf[0] == directMagic && t.direct != nil {
			t.direct(buf[:n])
			continue
		}
		if len(slab) < n {
			slab = make([]byte, max(slabSize, n))
		}
		pkt := slab[:n:n]
		slab = slab[n:]
		copy(pkt, buf[:n])
		from := net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()))
		select {
		case t.packetCh <- &memberlist.Packet{Buf: pkt, From: from, Timestamp: ts}:
		case <-t.done:
			return
		}
	}
}

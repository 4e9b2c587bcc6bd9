package agent

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Refusing a connection over the cap.
const (
	// MaxRefusing bounds the connections being refused at once (each is
	// answered, then drained for at most refuseLinger); beyond it a
	// connection over the cap is closed without an answer. A process
	// must keep this many descriptors spare beyond MaxConns.
	MaxRefusing = 32
	// refuseLinger is how long a refused connection is drained after its
	// answer, so that the client reads the 503 instead of a reset.
	refuseLinger = 500 * time.Millisecond
)

// HTTPServer returns an http.Server for the agent's API with its timeouts:
// ReadHeaderTimeout is Config.ReadTimeout (the handler sets the body's own
// deadline), IdleTimeout is Config.IdleTimeout, headers are limited to
// 64 KiB, and there is no server-wide ReadTimeout or WriteTimeout, which
// would cut hold and watch streams. Serve it on a.Listener(ln), which caps
// the connections. errorLog may be nil.
func (a *Agent) HTTPServer(errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: a.cfg.ReadTimeout,
		IdleTimeout:       a.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errorLog,
	}
}

// Listener wraps ln so that the agent holds at most Config.MaxConns
// connections at once, over all its listeners. A connection over the cap
// is answered at once with 503 and a JSON error, then closed: a client
// learns the agent is full instead of waiting unseen in the kernel's
// queue, and the process's descriptors stay within the cap (plus
// MaxRefusing), so that the gossip transport always has its own.
func (a *Agent) Listener(ln net.Listener) net.Listener {
	return &capListener{Listener: ln, a: a}
}

type capListener struct {
	net.Listener
	a *Agent
}

// Accept returns the next connection within the cap, refusing those over
// it.
func (l *capListener) Accept() (net.Conn, error) {
	a := l.a
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if a.conns.Add(1) <= int64(a.cfg.MaxConns) {
			return &capConn{Conn: c, a: a}, nil
		}
		a.conns.Add(-1)
		a.metrics.refused.WithLabelValues(refusedConns).Inc()
		a.refuseConn(c)
	}
}

// capConn is a connection counted against the cap until it closes.
type capConn struct {
	net.Conn
	a    *Agent
	once sync.Once
}

// Close closes the connection and frees its place under the cap.
func (c *capConn) Close() error {
	c.once.Do(func() { c.a.conns.Add(-1) })
	return c.Conn.Close()
}

// CloseWrite shuts the sending side down, as *net.TCPConn does: the
// server uses it to close a connection without losing its last answer.
func (c *capConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// refuseConn answers a connection over the cap with 503, then closes it.
// It reads the request's head first (a client, Go's among them, takes an
// answer that comes before its request for a broken connection), and
// drains what follows the answer for a moment, so that the close is not a
// reset that loses the answer. All of it takes at most refuseLinger, in a
// goroutine of its own, at most MaxRefusing at once; beyond, a connection
// is closed without an answer.
func (a *Agent) refuseConn(c net.Conn) {
	if a.refusing.Add(1) > MaxRefusing {
		a.refusing.Add(-1)
		_ = c.Close()
		return
	}
	go func() {
		defer a.refusing.Add(-1)
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(refuseLinger))
		r := bufio.NewReader(io.LimitReader(c, MaxBodyBytes))
		for {
			line, err := r.ReadSlice('\n')
			if err != nil || len(bytes.TrimSpace(line)) == 0 {
				break // the head's end, or the client sends no more in time
			}
		}
		msg := `{"error":"the agent is serving ` + strconv.Itoa(a.cfg.MaxConns) + ` connections, its limit (--http-max-conns); try again later, and reuse connections"}` + "\n"
		resp := "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
			strconv.Itoa(len(msg)) + "\r\n\r\n" + msg
		_ = c.SetWriteDeadline(time.Now().Add(refuseLinger))
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, r)
	}()
}

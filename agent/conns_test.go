package agent

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

// served runs the fixture's agent behind a real server, as tenure agent
// does (HTTPServer on Listener), and returns its base URL.
func (f *fixture) served() string {
	f.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	srv := f.agent.HTTPServer(log.New(io.Discard, "", 0))
	go func() { _ = srv.Serve(f.agent.Listener(ln)) }()
	f.t.Cleanup(func() { _ = srv.Close() }) // before the fixture's own cleanup
	return "http://" + ln.Addr().String()
}

// slowOutcome is how the agent ended one slow connection: the status line
// of its answer ("" if none), and whether the connection was closed (as
// opposed to still open when the test stopped waiting).
type slowOutcome struct {
	status string
	closed bool
}

// slowConn opens a connection to addr, sends head (and nothing after it),
// and reads until the agent closes it or a generous deadline passes.
func slowConn(addr, head string) slowOutcome {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return slowOutcome{status: "dial: " + err.Error(), closed: true}
	}
	defer c.Close()
	if head != "" {
		if _, err := io.WriteString(c, head); err != nil {
			return slowOutcome{closed: true}
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // generous: the agent's deadline is far shorter
	r := bufio.NewReader(c)
	line, _ := r.ReadString('\n')
	_, err = io.Copy(io.Discard, r)
	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	if line == "" && err == nil {
		// EOF before any byte: closed without an answer.
		return slowOutcome{closed: true}
	}
	return slowOutcome{status: strings.TrimSpace(line), closed: !timedOut}
}

// bodyNeverSent is a request that declares a body and never sends it.
const bodyNeverSent = "POST /v1/leases/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"

// Many slow connections (a declared body never sent, headers never
// finished, nothing sent at all) against a real server with a small
// connection cap: each is closed, by the read deadline (408) or at once
// over the cap (503); meanwhile a well-behaved client on its own
// connection keeps its lease, and a hold stream and a watch stream opened
// before them outlive many read deadlines.
func TestSlowConnectionsAreClosed(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	f := newFixtureWith(t, "", node.Config{DataDir: t.TempDir()}, func(c *Config) {
		c.ReadTimeout = readTimeout
		c.MaxConns = 16
	})
	base := f.served()
	addr := strings.TrimPrefix(base, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The well-behaved client: one connection, reused.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer hc.CloseIdleConnections()
	c := &api.Client{BaseURL: base, HTTP: hc}
	g, _, err := c.Acquire(ctx, "steady", api.AcquireRequest{TTL: api.Duration(2 * time.Second)})
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	// A watch stream and a hold stream, opened first.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watched := make(chan api.HolderHint, 64)
	go func() {
		defer close(watched)
		_ = (&api.Client{BaseURL: base, HTTP: &http.Client{Transport: &http.Transport{}}}).Watch(watchCtx, "steady", func(h api.HolderHint) bool {
			watched <- h
			return true
		})
	}()
	if h := <-watched; h.Token != g.Token {
		t.Fatalf("watch's first line %+v, want token %d", h, g.Token)
	}
	holdReq, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/leases/held", strings.NewReader(`{"ttl":"1s","hold":true}`))
	holdReq.Header.Set("Content-Type", "application/json")
	holdResp, err := (&http.Client{Transport: &http.Transport{}}).Do(holdReq)
	if err != nil || holdResp.StatusCode != 200 {
		t.Fatalf("hold: %v %v", err, holdResp)
	}
	defer holdResp.Body.Close()
	events := bufio.NewScanner(holdResp.Body)
	holdStart := time.Now()

	// The slow connections, all at once.
	heads := []string{"", "GET /v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\n"} // nothing; headers never finished
	for range 60 {
		heads = append(heads, bodyNeverSent)
	}
	outcomes := make([]slowOutcome, len(heads))
	var wg sync.WaitGroup
	for i, h := range heads {
		wg.Add(1)
		go func() { defer wg.Done(); outcomes[i] = slowConn(addr, h) }()
	}
	flood := make(chan struct{})
	go func() { wg.Wait(); close(flood) }()

	// Keepalives on the client's connection all succeed, while the slow
	// connections last and for a few read deadlines more.
	sent := 0
	for done := false; !done || sent < 8; sent++ {
		select {
		case <-flood:
			done = true
		default:
		}
		if _, _, err := c.Keepalive(ctx, "steady", g.Token, g.LeaseKey); err != nil {
			t.Fatalf("keepalive %d during the slow connections: %v", sent, err)
		}
		time.Sleep(readTimeout / 2) // the client's pacing, not a wait for a condition
	}

	var timeouts, full, mute int
	for i, o := range outcomes {
		switch {
		case !o.closed:
			t.Errorf("slow connection %d (%q) still open after 30s: answer %q", i, heads[i], o.status)
		case strings.HasPrefix(o.status, "HTTP/1.1 408"):
			timeouts++
		case strings.HasPrefix(o.status, "HTTP/1.1 503"):
			full++
		case o.status == "":
			mute++ // idle, unfinished headers, or beyond MaxRefusing
		default:
			t.Errorf("slow connection %d (%q): answer %q, want 408, 503 or a close", i, heads[i], o.status)
		}
	}
	t.Logf("slow connections: %d answered 408 at the read deadline, %d 503 over the cap, %d closed without an answer; %d keepalives succeeded", timeouts, full, mute, sent)
	if timeouts == 0 || full == 0 {
		t.Fatalf("slow connections: %d closed by the read deadline (408), %d refused over the cap (503), %d closed without answer; want some of the first two", timeouts, full, mute)
	}
	if v := f.metric(`tenure_http_refused_total{reason="read_timeout"}`); int(v) != timeouts {
		t.Errorf("refused read_timeout = %v, want the %d answers 408", v, timeouts)
	}
	if v := f.metric(`tenure_http_refused_total{reason="connections"}`); int(v) < full {
		t.Errorf("refused connections = %v, want at least the %d answers 503", v, full)
	}
	if v := f.metric("tenure_http_connections_max"); v != 16 {
		t.Errorf("tenure_http_connections_max = %v, want 16", v)
	}

	// The hold stream outlived many read deadlines.
	for events.Scan() {
		var ev api.Grant
		mustJSON(t, events.Bytes(), &ev)
		if ev.Event != "acquired" && ev.Event != "renewed" {
			t.Fatalf("hold stream event %+v", ev)
		}
		if time.Since(holdStart) > 4*readTimeout {
			break
		}
	}
	if time.Since(holdStart) <= 4*readTimeout {
		t.Fatalf("hold stream ended: %v", events.Err())
	}
	// So did the watch stream: it reports the release.
	if err := c.Release(ctx, "steady", g.Token, g.LeaseKey); err != nil {
		t.Fatalf("release: %v", err)
	}
	for h := range watched {
		if h.Vacant {
			return
		}
	}
	t.Fatalf("the watch stream ended before reporting the release")
}

// With a bearer token, connections that declare a body and send neither
// it nor the token are answered 401 and closed at once, not held until a
// read deadline (here far longer than the test waits).
func TestSlowUnauthenticatedAreClosed(t *testing.T) {
	f := newFixtureWith(t, "s3cret", node.Config{DataDir: t.TempDir()}, func(c *Config) { c.ReadTimeout = 10 * time.Minute })
	addr := strings.TrimPrefix(f.served(), "http://")
	outcomes := make([]slowOutcome, 50)
	var wg sync.WaitGroup
	for i := range outcomes {
		wg.Add(1)
		go func() { defer wg.Done(); outcomes[i] = slowConn(addr, bodyNeverSent) }()
	}
	wg.Wait()
	for i, o := range outcomes {
		if !o.closed || !strings.HasPrefix(o.status, "HTTP/1.1 401") {
			t.Errorf("unauthenticated slow connection %d: %+v, want 401 and closed", i, o)
		}
	}
	if v := f.metric(`tenure_http_refused_total{reason="unauthorized"}`); v != 50 {
		t.Errorf("refused unauthorized = %v, want 50", v)
	}
}

// The listener never holds more than MaxConns connections: one over the
// cap gets 503 with a JSON error at once, and a place freed is taken
// again.
func TestConnectionCap(t *testing.T) {
	f := newFixtureWith(t, "", node.Config{DataDir: t.TempDir()}, func(c *Config) { c.MaxConns = 2 })
	base := f.served()
	addr := strings.TrimPrefix(base, "http://")
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	f.eventually("two connections counted", func() bool { return f.agent.conns.Load() == 2 })
	// Over the cap, a request gets the 503 as an answer (after its
	// request is sent, so that HTTP clients read it), every time.
	for i := range 5 {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatalf("attempt %d over the cap: %v, want a 503 answer", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "--http-max-conns") || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("attempt %d over the cap: %d %q %s, want 503 JSON naming --http-max-conns", i, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := (&api.Client{BaseURL: base}).Members(ctx); api.StatusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("Client over the cap: %v, want an APIError 503", err)
	}
	held[0].Close()
	f.eventually("a freed place", func() bool { return f.agent.conns.Load() == 1 })
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a place was freed: %v %v", err, resp)
	}
	resp.Body.Close()
	held[1].Close()
	http.DefaultClient.CloseIdleConnections()
	f.eventually("every connection closed", func() bool { return f.agent.conns.Load() == 0 })
}

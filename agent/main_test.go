package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

// TestMain fails the package if a test leaves a goroutine behind: closing
// the agent and its node must stop everything they started. memberlist's
// failure-detector probe of a peer that does not answer (the tests with
// voters down) runs to its own timeout even after Shutdown and ends by
// itself, as the node package's TestMain explains: it is not a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"),
		goleak.IgnoreAnyFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode.func1"),
	)
}

// testTTL is the default TTL of test agents; testMaxTTL their maximum.
const (
	testTTL    = time.Second
	testMaxTTL = 5 * time.Second
)

// fixture is one agent over a one-voter node on loopback, served by an
// httptest server.
type fixture struct {
	t     *testing.T
	node  *node.Node
	agent *Agent
	srv   *httptest.Server
	token string
}

func testLogger() *slog.Logger {
	if lv := os.Getenv("TENURE_TEST_LOG"); lv != "" {
		var level slog.Level
		_ = level.UnmarshalText([]byte(lv))
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	return nil
}

// newFixture starts a node named "a" that is its own single voter, and
// an agent over it that requires token if it is not empty.
func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	return newFixtureWith(t, token, node.Config{DataDir: t.TempDir()})
}

// newFixtureWith is newFixture with the node's DataDir and MaxDrift taken
// from nc (the rest is the fixture's), and the agent's Config changed by
// tweaks. A fresh DataDir starts a new cluster, without quarantine; no
// DataDir is a crashed start.
func newFixtureWith(t *testing.T, token string, nc node.Config, tweaks ...func(*Config)) *fixture {
	t.Helper()
	n, err := node.New(node.Config{
		Name: "a", BindAddr: "127.0.0.1", Voters: []string{"a"}, DataDir: nc.DataDir, MaxDrift: nc.MaxDrift,
		NewCluster: nc.DataDir != "", DefaultTTL: testTTL, MaxTTL: testMaxTTL, Logger: testLogger(),
	})
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	cfg := Config{Node: n, Token: token, Logger: testLogger()}
	for _, tw := range tweaks {
		tw(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		n.Shutdown()
		t.Fatalf("agent.New: %v", err)
	}
	f := &fixture{t: t, node: n, agent: a, srv: httptest.NewServer(a.Handler()), token: token}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Errorf("agent.Close: %v", err)
		}
		f.srv.CloseClientConnections()
		f.srv.Close()
		if err := n.Leave(ctx); err != nil {
			t.Errorf("node.Leave: %v", err)
		}
	})
	return f
}

// do sends one request and returns the status and the body.
func (f *fixture) do(method, path, body string) (int, []byte) {
	f.t.Helper()
	return f.doKey(method, path, body, "")
}

// doKey is do with the lease key in the Tenure-Lease-Key header, if key is
// not empty.
func (f *fixture) doKey(method, path, body, key string) (int, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatalf("request %s %s: %v", method, path, err)
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set(api.LeaseKeyHeader, key)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// acquire takes name with body and fails the test unless it is granted.
func (f *fixture) acquire(name, body string) api.Grant {
	f.t.Helper()
	g, _ := f.acquireSent(name, body)
	return g
}

// acquireSent is acquire that also returns the instant the request was
// sent: the client's deadline is that plus the grant's DeadlineMS.
func (f *fixture) acquireSent(name, body string) (api.Grant, time.Time) {
	f.t.Helper()
	sent := time.Now()
	code, b := f.do("POST", "/v1/leases/"+name, body)
	if code != http.StatusOK {
		f.t.Fatalf("acquire %s: %d %s", name, code, b)
	}
	var g api.Grant
	mustJSON(f.t, b, &g)
	if len(g.LeaseKey) != 2*leaseKeyBytes {
		f.t.Fatalf("acquire %s: lease_key %q is not %d hex digits", name, g.LeaseKey, 2*leaseKeyBytes)
	}
	return g, sent
}

// held returns the agent's record of the tenure of name.
func (f *fixture) held(name string) *held {
	f.t.Helper()
	f.agent.mu.Lock()
	defer f.agent.mu.Unlock()
	h := f.agent.leases[name]
	if h == nil {
		f.t.Fatalf("the agent holds no tenure of %q", name)
	}
	return h
}

// eventually polls cond until it holds or a generous deadline passes.
func (f *fixture) eventually(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling an endpoint, not waiting out a duration
	}
}

// leases lists the leases held through the agent.
func (f *fixture) leases() []api.Grant {
	f.t.Helper()
	code, b := f.do("GET", "/v1/leases", "")
	if code != http.StatusOK {
		f.t.Fatalf("GET /v1/leases: %d %s", code, b)
	}
	var ls api.Leases
	mustJSON(f.t, b, &ls)
	return ls.Leases
}

// metric returns the value of one sample line of /metrics, or -1.
func (f *fixture) metric(series string) float64 {
	f.t.Helper()
	_, b := f.do("GET", "/metrics", "")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var x float64
			if err := json.Unmarshal([]byte(v), &x); err == nil {
				return x
			}
		}
	}
	return -1
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("bad JSON %q: %v", b, err)
	}
}

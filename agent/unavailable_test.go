package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

// newVotersFixture is an agent over node "a" whose voter list is voters,
// with a fresh data dir (NewCluster) when fresh, else an empty dir without
// NewCluster (a crashed start: quarantine of about maxTTL).
func newVotersFixture(t *testing.T, voters []string, fresh bool, maxTTL time.Duration) *fixture {
	t.Helper()
	n, err := node.New(node.Config{
		Name: "a", BindAddr: "127.0.0.1", Voters: voters, DataDir: t.TempDir(), NewCluster: fresh,
		DefaultTTL: testTTL, MaxTTL: maxTTL, Logger: testLogger(),
	})
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	a, err := New(Config{Node: n, Logger: testLogger()})
	if err != nil {
		n.Shutdown()
		t.Fatalf("agent.New: %v", err)
	}
	f := &fixture{t: t, node: n, agent: a, srv: httptest.NewServer(a.Handler())}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Close(ctx)
		f.srv.CloseClientConnections()
		f.srv.Close()
		_ = n.Shutdown()
	})
	return f
}

// With two of three voters down, an acquire is 503 "no quorum" (never
// 409), counted as unavailable; /readyz is 503 and /healthz 200.
func TestHTTPUnavailableNoQuorum(t *testing.T) {
	voters := []string{"a", "b", "c"}
	f := newVotersFixture(t, voters, true, testMaxTTL)
	var others []*node.Node
	for _, name := range []string{"b", "c"} {
		n, err := node.New(node.Config{Name: name, BindAddr: "127.0.0.1", Voters: voters, DataDir: t.TempDir(), NewCluster: true,
			Join: []string{f.node.Addr()}, DefaultTTL: testTTL, MaxTTL: testMaxTTL, Logger: testLogger()})
		if err != nil {
			t.Fatalf("node.New(%s): %v", name, err)
		}
		others = append(others, n)
	}
	f.eventually("a majority answering /readyz", func() bool { code, _ := f.do("GET", "/readyz", ""); return code == http.StatusOK })
	for _, n := range others {
		n.Shutdown() // a crash: b and c are down for the requests below
	}
	// Answers b and c sent just before they stopped (to the readiness
	// probes above) may still arrive and count as answers: wait until the
	// agent itself reports the majority gone.
	f.eventually("/readyz to see the majority gone", func() bool {
		code, _ := f.do("GET", "/readyz", "")
		return code == http.StatusServiceUnavailable
	})
	for _, body := range []string{`{}`, `{"wait":"1s"}`} {
		code, b := f.do("POST", "/v1/leases/x", body)
		var e api.ErrorResponse
		mustJSON(t, b, &e)
		if code != http.StatusServiceUnavailable || e.Error != "no quorum: 1 of 3 voters answered" {
			t.Fatalf("acquire %s: %d %s, want 503 no quorum", body, code, b)
		}
	}
	if code, b := f.do("GET", "/v1/leases/x", ""); code != http.StatusServiceUnavailable || !strings.Contains(string(b), "no quorum: 1 of 3 voters answered") {
		t.Fatalf("holder: %d %s", code, b)
	}
	if v := f.metric(`tenure_acquisitions_total{outcome="unavailable"}`); v != 2 {
		t.Errorf("unavailable acquisitions %v, want 2", v)
	}
	if v := f.metric(`tenure_acquisitions_total{outcome="held"}`) + f.metric(`tenure_acquisitions_total{outcome="contended"}`); v != 0 {
		t.Errorf("held+contended %v, want 0", v)
	}
	if v := f.metric(`tenure_unavailable_total{reason="no_quorum"}`); v != 3 {
		t.Errorf("no_quorum refusals %v, want 3", v)
	}
	code, b := f.do("GET", "/readyz", "")
	var r api.Readiness
	mustJSON(t, b, &r)
	if code != http.StatusServiceUnavailable || r.Status != "unavailable" || r.Error != "no quorum: 1 of 3 voters answered" || len(r.Voters) != 3 {
		t.Fatalf("readyz: %d %s", code, b)
	}
	for _, v := range r.Voters {
		if v.Answered != (v.Name == "a") {
			t.Errorf("readyz voter %+v", v)
		}
	}
	if code, b := f.do("GET", "/healthz", ""); code != http.StatusOK {
		t.Fatalf("healthz: %d %s", code, b)
	}
}

// A lone voter in quarantine answers 503 "quarantined for ...s more".
func TestHTTPUnavailableQuarantined(t *testing.T) {
	f := newVotersFixture(t, []string{"a"}, false, 30*time.Second)
	code, b := f.do("POST", "/v1/leases/x", `{}`)
	var e api.ErrorResponse
	mustJSON(t, b, &e)
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(e.Error, "quarantined for ") || !strings.HasSuffix(e.Error, "s more (0 of 1 voters answered)") {
		t.Fatalf("acquire in quarantine: %d %s", code, b)
	}
	if v := f.metric(`tenure_unavailable_total{reason="quarantined"}`); v != 1 {
		t.Errorf("quarantined refusals %v, want 1", v)
	}
	code, b = f.do("GET", "/readyz", "")
	var r api.Readiness
	mustJSON(t, b, &r)
	if code != http.StatusServiceUnavailable || !r.Quarantined || r.QuarantineLeftMS <= 0 || !strings.HasPrefix(r.Error, "quarantined for ") {
		t.Fatalf("readyz in quarantine: %d %s", code, b)
	}
}

// A serving single voter is ready, and a held lease is still 409.
func TestHTTPReadyAndHeld(t *testing.T) {
	f := newFixture(t, "")
	code, b := f.do("GET", "/readyz", "")
	var r api.Readiness
	mustJSON(t, b, &r)
	if code != http.StatusOK || r.Status != "ready" || r.Answered != 1 || len(r.Voters) != 1 || !r.Voters[0].Self || !r.Voters[0].Answered {
		t.Fatalf("readyz: %d %s", code, b)
	}
	f.acquire("x", `{}`)
	f2code, b := f.do("POST", "/v1/leases/x", `{}`)
	if f2code != http.StatusConflict {
		t.Fatalf("second acquire: %d %s, want 409", f2code, b)
	}
	if v := f.metric(`tenure_acquisitions_total{outcome="unavailable"}`); v != 0 {
		t.Errorf("unavailable acquisitions %v, want 0", v)
	}
}

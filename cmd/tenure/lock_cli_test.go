package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
)

// recordingAgent answers acquires with answer and records every request
// body it gets.
type recordingAgent struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
	answer func(w http.ResponseWriter, req api.AcquireRequest)
}

func newRecordingAgent(t *testing.T, answer func(w http.ResponseWriter, req api.AcquireRequest)) *recordingAgent {
	a := &recordingAgent{answer: answer}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.bodies = append(a.bodies, r.Method+" "+r.URL.RequestURI()+" "+string(b))
		a.mu.Unlock()
		var req api.AcquireRequest
		_ = json.Unmarshal(b, &req)
		switch {
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case strings.HasSuffix(r.URL.Path, "/keepalive"):
			_ = json.NewEncoder(w).Encode(api.Grant{Name: "x", Token: 7, TTL: api.Duration(10 * time.Second), DeadlineMS: 10000})
		default:
			a.answer(w, req)
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *recordingAgent) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.bodies...)
}

// TestLockUsageBeforeAcquire checks what tenure lock refuses before it
// asks the agent for anything: "--" before NAME, a bad NAME, a bad
// --slots (exit 2), and a CMD that is not in PATH (exit 1, nothing
// acquired).
func TestLockUsageBeforeAcquire(t *testing.T) {
	a := newRecordingAgent(t, func(w http.ResponseWriter, _ api.AcquireRequest) {
		_ = json.NewEncoder(w).Encode(api.Grant{Name: "job", Token: 7, TTL: api.Duration(10 * time.Second), DeadlineMS: 10000, LeaseKey: "k"})
	})
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--", "echo", "hi"}, 2, `"--" comes after NAME`},
		{[]string{"--quiet", "--", "job", "--", "true"}, 2, `"--" comes after NAME`},
		{[]string{"bad\u202ename", "--", "true"}, 2, "lease NAME"},
		{[]string{"..", "--", "true"}, 2, "lease NAME"},
		{[]string{"--slots", "-1", "job", "--", "true"}, 2, "--slots"},
		{[]string{"--slots", "100000", "job", "--", "true"}, 2, "--slots"},
		{[]string{"job", "--", "no-such-command-tenure-cli-test"}, 1, "cannot start no-such-command-tenure-cli-test"},
	} {
		r := startLockProc(t, append([]string{"--agent", a.srv.URL}, tc.args...)...)
		code, stderr := r.wait(t)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("tenure lock %q: exit %d, stderr %q; want %d naming %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if got := a.requests(); len(got) != 0 {
		t.Fatalf("the agent was asked %q; want nothing before the checks pass", got)
	}
}

// TestLockRefusedRequestIsUsage checks that an acquire the agent answers
// 400 (its refusal of a bad request, like a TTL above its --max-ttl)
// exits 2 with the agent's reason, and writes no --status-file.
func TestLockRefusedRequestIsUsage(t *testing.T) {
	a := newRecordingAgent(t, func(w http.ResponseWriter, req api.AcquireRequest) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(api.ErrorResponse{Error: "ttl " + time.Duration(req.TTL).String() + " outside [10ms, 1m0s]"})
	})
	status := filepath.Join(t.TempDir(), "status")
	r := startLockProc(t, "--agent", a.srv.URL, "--status-file", status, "--ttl", "1h", "job", "--", "true")
	code, stderr := r.wait(t)
	if code != 2 || !strings.Contains(stderr, "ttl 1h0m0s outside") || !strings.Contains(stderr, "tenure lock --help") {
		t.Fatalf("exit %d, stderr %q; want 2 with the agent's reason", code, stderr)
	}
	if _, err := os.Stat(status); !os.IsNotExist(err) {
		t.Fatalf("--status-file written for bad usage: %v", err)
	}
}

// TestLockSlots checks that --slots N asks the agent for a semaphore and
// that the command, the keepalives and the release use the slot the
// agent chose.
func TestLockSlots(t *testing.T) {
	a := newRecordingAgent(t, func(w http.ResponseWriter, req api.AcquireRequest) {
		name := "pool"
		if req.Slots > 0 {
			name = "pool#1"
		}
		_ = json.NewEncoder(w).Encode(api.Grant{Name: name, Token: 9, TTL: api.Duration(10 * time.Second), DeadlineMS: 10000, LeaseKey: "k"})
	})
	out := filepath.Join(t.TempDir(), "lease")
	r := startLockProc(t, "--agent", a.srv.URL, "--slots", "3", "pool", "--", "sh", "-c", `printf %s "$TENURE_LEASE" > `+out)
	if code, stderr := r.wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "pool#1" {
		t.Fatalf("TENURE_LEASE %q, want the slot pool#1", b)
	}
	got := a.requests()
	if len(got) < 2 || !strings.HasPrefix(got[0], "POST /v1/leases/pool ") || !strings.Contains(got[0], `"slots":3`) {
		t.Fatalf("requests %q; want an acquire of pool with slots 3 first", got)
	}
	if last := got[len(got)-1]; !strings.HasPrefix(last, "DELETE /v1/leases/pool%231?token=9") {
		t.Fatalf("release %q; want it for the slot pool#1", last)
	}
}

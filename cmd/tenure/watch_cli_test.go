package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tenure-dev/tenure/api"
)

// TestWatchRefusedRequestIsUsage checks that a watch the agent answers
// 400 exits 2 (bad usage) with the agent's reason, and another failure 1.
func TestWatchRefusedRequestIsUsage(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		_ = json.NewEncoder(w).Encode(api.ErrorResponse{Error: "lease name refused by this agent"})
	}))
	defer srv.Close()
	for _, tc := range []struct {
		status, code int
	}{{http.StatusBadRequest, 2}, {http.StatusServiceUnavailable, 1}} {
		status.Store(int32(tc.status))
		var out, errb bytes.Buffer
		code := runMain([]string{"watch", "--agent", srv.URL, "job"}, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), "lease name refused by this agent") {
			t.Errorf("agent answering %d: exit %d, stderr %q; want %d with the reason", tc.status, code, errb.String(), tc.code)
		}
	}
}

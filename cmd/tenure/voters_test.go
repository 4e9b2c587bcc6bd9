package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tenure-dev/tenure/api"
)

// fakeVotersAgent serves GET and PUT /v1/voters from cur, records every
// PUT body, and answers PUTs with status (200 applies the change).
type fakeVotersAgent struct {
	mu     sync.Mutex
	cur    api.Voters
	status int
	puts   []api.SetVotersRequest
}

func (f *fakeVotersAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.Method + " " + r.URL.Path {
	case "GET /v1/voters":
		_ = json.NewEncoder(w).Encode(f.cur)
	case "PUT /v1/voters":
		var req api.SetVotersRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.FromEpoch == nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(api.ErrorResponse{Error: "bad body"})
			return
		}
		f.puts = append(f.puts, req)
		if f.status != http.StatusOK {
			w.WriteHeader(f.status)
			_ = json.NewEncoder(w).Encode(api.ErrorResponse{Error: "refused by the test"})
			return
		}
		v := slices.Clone(req.Voters)
		slices.Sort(v)
		f.cur = api.Voters{Epoch: f.cur.Epoch + 2, Voters: v, Node: f.cur.Node, Voter: slices.Contains(v, f.cur.Node)}
		_ = json.NewEncoder(w).Encode(f.cur)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func runVotersCmd(t *testing.T, url string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(append([]string{"voters", "--agent", url}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// Each action is computed from the GET and sent as one PUT with the GET's
// epoch; replace is a single change.
func TestVotersActions(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"set", "a,b,c,d,e"}, []string{"a", "b", "c", "d", "e"}},
		{[]string{"set", "e", "d,c", "b", "a"}, []string{"a", "b", "c", "d", "e"}},
		{[]string{"add", "d", "e"}, []string{"a", "b", "c", "d", "e"}},
		{[]string{"remove", "c"}, []string{"a", "b"}},
		{[]string{"replace", "c", "x"}, []string{"a", "b", "x"}},
	} {
		fa := &fakeVotersAgent{cur: api.Voters{Epoch: 4, Voters: []string{"a", "b", "c"}, Node: "a", Voter: true}, status: http.StatusOK}
		srv := httptest.NewServer(fa)
		code, out, errs := runVotersCmd(t, srv.URL, c.args...)
		srv.Close()
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", c.args, code, errs)
		}
		if len(fa.puts) != 1 || !slices.Equal(fa.puts[0].Voters, c.want) || *fa.puts[0].FromEpoch != 4 {
			t.Fatalf("%v: sent %+v, want one PUT of %v from epoch 4", c.args, fa.puts, c.want)
		}
		if !strings.Contains(out, "epoch: 6") || !strings.Contains(out, "voters: "+strings.Join(c.want, ",")) {
			t.Errorf("%v: output %q", c.args, out)
		}
	}
}

// Bad usage exits 2 and sends nothing; a refused or failed change exits
// 1 (409, 503) or 2 (400); plain tenure voters shows the configuration.
func TestVotersUsageAndFailures(t *testing.T) {
	fa := &fakeVotersAgent{cur: api.Voters{Epoch: 4, Voters: []string{"a", "b", "c"}, Node: "d"}, status: http.StatusOK}
	srv := httptest.NewServer(fa)
	defer srv.Close()
	for _, args := range [][]string{
		{"frobnicate", "x"},
		{"add"},
		{"replace", "c"},
		{"replace", "c", "x", "y"},
		{"add", "a"},
		{"remove", "zz"},
		{"remove", "a", "b", "c"},
		{"replace", "zz", "x"},
		{"replace", "a", "b"},
		{"set", "c,b,a"},
		{"extra"},
	} {
		code, _, errs := runVotersCmd(t, srv.URL, args...)
		if code != exitUsage || !strings.Contains(errs, "tenure voters:") {
			t.Errorf("%v: exit %d (%s), want 2", args, code, errs)
		}
	}
	if len(fa.puts) != 0 {
		t.Fatalf("usage errors sent %+v", fa.puts)
	}
	code, out, _ := runVotersCmd(t, srv.URL)
	if code != exitOK || !strings.Contains(out, "epoch: 4\nvoters: a,b,c\n") || !strings.Contains(out, "this node (d): not a voter") {
		t.Fatalf("show: exit %d %q", code, out)
	}
	for status, want := range map[int]int{http.StatusConflict: exitFail, http.StatusServiceUnavailable: exitFail, http.StatusBadRequest: exitUsage} {
		fa.mu.Lock()
		fa.status = status
		fa.mu.Unlock()
		code, _, errs := runVotersCmd(t, srv.URL, "add", "d")
		if code != want || !strings.Contains(errs, "refused by the test") {
			t.Errorf("answer %d: exit %d (%s), want %d", status, code, errs, want)
		}
	}

	// While a change is under way, only set to its target is taken.
	fa.mu.Lock()
	fa.cur = api.Voters{Epoch: 5, Voters: []string{"a", "b", "c"}, Next: []string{"a", "b", "d"}, Joint: true, Node: "a", Voter: true}
	fa.status = http.StatusOK
	fa.puts = nil
	fa.mu.Unlock()
	if code, _, errs := runVotersCmd(t, srv.URL, "add", "e"); code != exitUsage || !strings.Contains(errs, "under way") {
		t.Errorf("add during a change: exit %d %s", code, errs)
	}
	code, out, _ = runVotersCmd(t, srv.URL)
	if code != exitOK || !strings.Contains(out, "changing to: a,b,d") {
		t.Errorf("show during a change: %q", out)
	}
	if code, _, errs := runVotersCmd(t, srv.URL, "set", "a,b,d"); code != exitOK || len(fa.puts) != 1 {
		t.Errorf("finishing set: exit %d %s, puts %+v", code, errs, fa.puts)
	}
}

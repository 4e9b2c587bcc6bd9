package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

// countObserves makes the fixture's agent count its node.Observe calls.
func countObserves(f *fixture) *atomic.Int64 {
	var n atomic.Int64
	f.agent.wmu.Lock()
	defer f.agent.wmu.Unlock()
	orig := f.agent.observeFn
	f.agent.observeFn = func(ctx context.Context, name string) <-chan node.Holder {
		n.Add(1)
		return orig(ctx, name)
	}
	return &n
}

// watcher is one open watch stream and the lines read from it.
type watcher struct {
	resp  *http.Response
	lines chan api.HolderHint
}

// openWatch opens GET ?watch=1 on name; it returns nil and the status if
// the agent refused it.
func (f *fixture) openWatch(ctx context.Context, name string) (*watcher, int) {
	f.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/v1/leases/"+name+"?watch=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("watch %s: %v", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	w := &watcher{resp: resp, lines: make(chan api.HolderHint, 16)}
	go func() {
		defer close(w.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var h api.HolderHint
			if json.Unmarshal(sc.Bytes(), &h) == nil {
				w.lines <- h
			}
		}
	}()
	return w, resp.StatusCode
}

// next returns the watcher's next line, failing the test if none comes.
func (w *watcher) next(t *testing.T, what string) api.HolderHint {
	t.Helper()
	select {
	case h, ok := <-w.lines:
		if !ok {
			t.Fatalf("watch stream ended before %s", what)
		}
		return h
	case <-time.After(20 * time.Second):
		t.Fatalf("no watch line for %s", what)
	}
	return api.HolderHint{}
}

func (w *watcher) close() {
	w.resp.Body.Close()
	for range w.lines {
	}
}

// All the watch streams of one name share one node.Observe: N watchers
// cost one observer (one poll of the voters a second), each gets the
// current state first and every change; another name gets an observer of
// its own; the last watcher to leave stops it, and a later watcher starts
// a new one.
func TestWatchersShareOneObserver(t *testing.T) {
	f := newFixture(t, "")
	observes := countObserves(f)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 25
	var ws []*watcher
	for range n {
		w, code := f.openWatch(ctx, "shared")
		if w == nil {
			t.Fatalf("watch: %d", code)
		}
		ws = append(ws, w)
		if h := w.next(t, "the initial state"); !h.Vacant {
			t.Fatalf("initial state %+v, want vacant", h)
		}
	}
	other, _ := f.openWatch(ctx, "other")
	other.next(t, "the initial state of another name")
	if got := observes.Load(); got != 2 {
		t.Fatalf("%d watchers of one name and one of another made %d node.Observe calls, want 2", n, got)
	}
	if v := f.metric("tenure_watch_observers"); v != 2 {
		t.Fatalf("tenure_watch_observers = %v, want 2", v)
	}
	if v := f.metric("tenure_watch_streams"); v != n+1 {
		t.Fatalf("tenure_watch_streams = %v, want %d", v, n+1)
	}
	g := f.acquire("shared", `{"ttl":"5s","value":"v"}`)
	for i, w := range ws {
		if h := w.next(t, "the new tenure"); h.Token != g.Token || h.Node != "a" || h.Value != "v" || h.RemainingMS <= 0 {
			t.Fatalf("watcher %d saw %+v, want token %d", i, h, g.Token)
		}
	}
	// A late watcher gets the current state first, from the shared
	// observer, with the time left counted down since it was told.
	late, _ := f.openWatch(ctx, "shared")
	if h := late.next(t, "the late watcher's first line"); h.Token != g.Token || h.RemainingMS <= 0 || h.RemainingMS > 5000 {
		t.Fatalf("late watcher's first line %+v, want token %d with time left", h, g.Token)
	}
	if got := observes.Load(); got != 2 {
		t.Fatalf("a late watcher started an observer of its own: %d calls", got)
	}
	for _, w := range append(ws, late, other) {
		w.close()
	}
	f.eventually("every observer to stop", func() bool {
		return f.metric("tenure_watch_observers") == 0 && f.metric("tenure_watch_streams") == 0
	})
	again, _ := f.openWatch(ctx, "shared")
	if h := again.next(t, "a fresh watcher's first line"); h.Token != g.Token {
		t.Fatalf("fresh watcher's first line %+v, want token %d", h, g.Token)
	}
	again.close()
	if got := observes.Load(); got != 3 {
		t.Fatalf("a watcher after the last one left made %d calls in all, want 3", got)
	}
}

// At most MaxWatches watch streams at once: the next gets 503 with a
// message naming the flag, counted; once one ends a new one is served.
func TestWatchCap(t *testing.T) {
	f := newFixtureWith(t, "", node.Config{DataDir: t.TempDir()}, func(c *Config) { c.MaxWatches = 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var ws []*watcher
	for i := range 3 {
		w, code := f.openWatch(ctx, []string{"x", "y", "x"}[i])
		if w == nil {
			t.Fatalf("watch %d: %d", i, code)
		}
		w.next(t, "the initial state")
		ws = append(ws, w)
	}
	code, b := f.do("GET", "/v1/leases/z?watch=1", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(b), "--http-max-watches") {
		t.Fatalf("the 4th watch: %d %s, want 503 naming --http-max-watches", code, b)
	}
	if v := f.metric(`tenure_http_refused_total{reason="watches"}`); v != 1 {
		t.Fatalf("refused watches = %v, want 1", v)
	}
	ws[0].close()
	f.eventually("a freed watch place", func() bool { return f.metric("tenure_watch_streams") == 2 })
	w, code := f.openWatch(ctx, "z")
	if w == nil {
		t.Fatalf("a watch after one ended: %d", code)
	}
	w.next(t, "the initial state")
	w.close()
	for _, w := range ws[1:] {
		w.close()
	}
}

// At most MaxHolds hold-mode acquires at once: the next gets 503 naming
// the flag and takes nothing; keepalive mode is not limited by it.
func TestHoldCap(t *testing.T) {
	f := newFixtureWith(t, "", node.Config{DataDir: t.TempDir()}, func(c *Config) { c.MaxHolds = 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var bodies []*http.Response
	hold := func(name string) (*http.Response, int) {
		req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/v1/leases/"+name, strings.NewReader(`{"ttl":"1s","hold":true}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("hold %s: %v", name, err)
		}
		mu.Lock()
		bodies = append(bodies, resp)
		mu.Unlock()
		return resp, resp.StatusCode
	}
	defer func() {
		for _, b := range bodies {
			b.Body.Close()
		}
	}()
	h1, c1 := hold("h1")
	_, c2 := hold("h2")
	if c1 != 200 || c2 != 200 {
		t.Fatalf("two hold streams: %d %d", c1, c2)
	}
	h3, c3 := hold("h3")
	var e api.ErrorResponse
	_ = json.NewDecoder(h3.Body).Decode(&e)
	if c3 != http.StatusServiceUnavailable || !strings.Contains(e.Error, "--http-max-holds") {
		t.Fatalf("the 3rd hold: %d %q, want 503 naming --http-max-holds", c3, e.Error)
	}
	if v := f.metric(`tenure_http_refused_total{reason="holds"}`); v != 1 {
		t.Fatalf("refused holds = %v, want 1", v)
	}
	if v := f.metric("tenure_hold_streams"); v != 2 {
		t.Fatalf("tenure_hold_streams = %v, want 2", v)
	}
	f.acquire("keepalive-mode", `{"ttl":"2s"}`)
	for _, g := range f.leases() {
		if g.Name == "h3" {
			t.Fatalf("the refused hold took h3: %+v", g)
		}
	}
	h1.Body.Close()
	f.eventually("a freed hold place", func() bool { return f.metric("tenure_hold_streams") == 1 })
	if _, c := hold("h4"); c != 200 {
		t.Fatalf("a hold after one ended: %d", c)
	}
}

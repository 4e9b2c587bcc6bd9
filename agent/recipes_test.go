package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
)

// A semaphore through HTTP: "slots": N grants distinct slots, each a lease
// of its own with its own token, and refuses the (N+1)th while all are
// held; a released slot can be had again.
func TestSlots(t *testing.T) {
	f := newFixture(t, "")
	a := f.acquire("pool", `{"ttl":"5s","slots":2}`)
	b := f.acquire("pool", `{"ttl":"5s","slots":2}`)
	if a.Name == b.Name || !strings.HasPrefix(a.Name, "pool#") || !strings.HasPrefix(b.Name, "pool#") {
		t.Fatalf("two slots granted as %q and %q", a.Name, b.Name)
	}
	if code, body := f.do("POST", "/v1/leases/pool", `{"ttl":"5s","slots":2}`); code != http.StatusConflict {
		t.Fatalf("a third holder of 2 slots: %d %s", code, body)
	}
	// Release slot a (its name, URL-encoded) and take a slot again.
	esc := strings.ReplaceAll(a.Name, "#", "%23")
	if code, body := f.doKey("DELETE", "/v1/leases/"+esc+"?token="+a.TokenStr, "", a.LeaseKey); code != http.StatusNoContent {
		t.Fatalf("release of slot %s: %d %s", a.Name, code, body)
	}
	c := f.acquire("pool", `{"ttl":"5s","slots":2,"wait":"5s"}`)
	if c.Name != a.Name || c.Token <= a.Token {
		t.Fatalf("after releasing %s (token %d) got %s (token %d)", a.Name, a.Token, c.Name, c.Token)
	}
}

// GET ?watch=1 streams holder changes: the current state first, then a new
// tenure, then the vacancy after its release, each a hint.
func TestWatch(t *testing.T) {
	f := newFixture(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/v1/leases/w?watch=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("watch answered %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan api.HolderHint, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var h api.HolderHint
			if json.Unmarshal(sc.Bytes(), &h) == nil {
				lines <- h
			}
		}
		close(lines)
	}()
	next := func(what string) api.HolderHint {
		t.Helper()
		select {
		case h, ok := <-lines:
			if !ok {
				t.Fatalf("watch stream ended before %s", what)
			}
			return h
		case <-ctx.Done():
			t.Fatalf("no watch line for %s", what)
		}
		return api.HolderHint{}
	}
	if h := next("the initial state"); !h.Vacant || !h.Hint {
		t.Fatalf("initial state of an unheld lease: %+v", h)
	}
	g := f.acquire("w", `{"ttl":"5s","value":"me"}`)
	h := next("the new tenure")
	if h.Vacant || h.Node != "a" || h.Token != g.Token || h.Value != "me" || !h.Hint {
		t.Fatalf("new tenure reported as %+v, want node a token %d", h, g.Token)
	}
	if code, body := f.doKey("DELETE", "/v1/leases/w?token="+g.TokenStr, "", g.LeaseKey); code != http.StatusNoContent {
		t.Fatalf("release: %d %s", code, body)
	}
	for {
		h := next("the vacancy")
		if h.Vacant {
			break
		}
		if h.Token != g.Token {
			t.Fatalf("unexpected tenure %+v before the vacancy", h)
		}
	}
}

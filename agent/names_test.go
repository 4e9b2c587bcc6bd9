package agent

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
)

// Every route refuses "." and ".." (sent as %2E, the only way they reach
// the agent) and names with format characters, with 400 and the cause.
func TestAPIRefusesBadNames(t *testing.T) {
	f := newFixture(t, "")
	for _, tc := range []struct{ seg, want string }{
		{"%2E", "dot-segment"},
		{"%2E%2E", "dot-segment"},
		{"%2e%2e", "dot-segment"},
		{"a%E2%80%AEb", "U+202E"},
		{"a%E2%80%8Bb", "U+200B"},
	} {
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/v1/leases/" + tc.seg, `{}`},
			{"POST", "/v1/leases/" + tc.seg + "/keepalive", `{"token":"1"}`},
			{"DELETE", "/v1/leases/" + tc.seg + "?token=1", ``},
			{"GET", "/v1/leases/" + tc.seg, ``},
			{"GET", "/v1/leases/" + tc.seg + "?watch=1", ``},
		} {
			code, b := f.doKey(r.method, r.path, r.body, strings.Repeat("0", 2*leaseKeyBytes))
			if code != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
				t.Errorf("%s %s: %d %s, want 400 saying %q", r.method, r.path, code, b, tc.want)
			}
		}
	}
	// Sent as they are (as clients that do not encode dots send them),
	// dot-segments are refused too, rather than redirected to the path
	// without them: "/v1/leases/./keepalive" must not become an acquire
	// of the lease "keepalive".
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/v1/leases/.", `{}`},
		{"POST", "/v1/leases/..", `{}`},
		{"POST", "/v1/leases/./keepalive", `{"token":"1"}`},
		{"POST", "/v1/leases/../leases/x", `{}`},
		{"DELETE", "/v1/leases/..?token=1", ``},
		{"GET", "/v1/leases/.", ``},
		{"GET", "/v1/./members", ``},
	} {
		code, b := f.do(r.method, r.path, r.body)
		if code != http.StatusBadRequest || !strings.Contains(string(b), "dot-segment") {
			t.Errorf("%s %s: %d %s, want 400 naming the dot-segment", r.method, r.path, code, b)
		}
	}
	if ls := f.leases(); len(ls) != 0 {
		t.Fatalf("bad names took leases: %+v", ls)
	}
}

// The project's client: "." and ".." reach the agent and get its 400 (not
// a redirect to another route, not a 404), and every other valid name
// round-trips through acquire, the holder hint, the listing, keepalive
// and release.
func TestClientNames(t *testing.T) {
	f := newFixture(t, "")
	c := &api.Client{BaseURL: f.srv.URL}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{".", ".."} {
		_, _, err := c.Acquire(ctx, name, api.AcquireRequest{})
		if api.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "dot-segment") {
			t.Errorf("Client.Acquire(%q): %v, want 400 naming the dot-segment", name, err)
		}
		if _, _, err := c.Keepalive(ctx, name, 1, "k"); api.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("Client.Keepalive(%q): %v, want 400", name, err)
		}
		if err := c.Release(ctx, name, 1, "k"); api.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("Client.Release(%q): %v, want 400", name, err)
		}
		if _, err := c.Holder(ctx, name); api.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("Client.Holder(%q): %v, want 400", name, err)
		}
		if err := c.Watch(ctx, name, func(api.HolderHint) bool { return false }); api.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("Client.Watch(%q): %v, want 400", name, err)
		}
	}
	if ls := f.leases(); len(ls) != 0 {
		t.Fatalf("dot names took leases: %+v", ls)
	}
	for _, name := range []string{"a/b", "a/../b", "../x", "x/..", "x/.", "./x", "...", ".a", "a b", "%2e", "%2E%2E", "a?b#c", "keepalive", "a/keepalive", "café", "🙂", `a\b`, "a;b=c"} {
		g, _, err := c.Acquire(ctx, name, api.AcquireRequest{TTL: api.Duration(2 * time.Second)})
		if err != nil || g.Name != name {
			t.Errorf("Client.Acquire(%q): %+v %v, want a grant of that name", name, g, err)
			continue
		}
		if h, err := c.Holder(ctx, name); err != nil || h.Name != name || h.Token != g.Token {
			t.Errorf("Client.Holder(%q): %+v %v, want token %d", name, h, err, g.Token)
		}
		ls, err := c.Leases(ctx)
		if err != nil || len(ls.Leases) != 1 || ls.Leases[0].Name != name {
			t.Errorf("Client.Leases after acquiring %q: %+v %v", name, ls, err)
		}
		if k, _, err := c.Keepalive(ctx, name, g.Token, g.LeaseKey); err != nil || k.Name != name {
			t.Errorf("Client.Keepalive(%q): %+v %v", name, k, err)
		}
		if err := c.Release(ctx, name, g.Token, g.LeaseKey); err != nil {
			t.Errorf("Client.Release(%q): %v", name, err)
		}
		f.eventually("the release of "+name, func() bool { return len(f.leases()) == 0 })
	}
}

package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
)

// serve runs one request through the agent's handler directly, with the
// Host and headers given (a browser's request can carry any Host), and
// returns the status and the decoded error, if any.
func (f *fixture) serve(method, host, path, body string, header map[string]string) (int, api.ErrorResponse) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // ends a stream served by mistake
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, method, "http://"+host+path, strings.NewReader(body))
	req.Host = host
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if body == "" {
		req.ContentLength = 0
	}
	rec := httptest.NewRecorder()
	f.agent.Handler().ServeHTTP(rec, req)
	var e api.ErrorResponse
	if rec.Code >= 400 {
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
			f.t.Fatalf("%s %s (Host %q): %d with a body that is not a JSON error: %q", method, path, host, rec.Code, rec.Body.Bytes())
		}
	}
	return rec.Code, e
}

// A token-less agent refuses what a web page can make a browser send:
// another Host (DNS rebinding), an Origin header, a body that is not
// declared JSON. Each refusal is a JSON error naming the cause, counted,
// and changes nothing.
func TestLocalGuardRefusesBrowsers(t *testing.T) {
	f := newFixture(t, "")
	jsonCT := map[string]string{"Content-Type": "application/json"}
	for _, tc := range []struct {
		name, method, host, path, body string
		header                         map[string]string
		status                         int
		want, reason                   string
	}{
		// The reproduction: a cross-origin text/plain hold request that
		// DNS rebinding sent with the attacker's host name.
		{"rebinding hold request", "POST", "attacker.example:7947", "/v1/leases/job", `{"hold":true}`,
			map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://attacker.example:7947"}, 421, "DNS rebinding", refusedHost},
		{"foreign host, JSON", "POST", "attacker.example", "/v1/leases/job", `{}`, jsonCT, 421, "Host", refusedHost},
		{"foreign host on a read", "GET", "attacker.example:7947", "/v1/leases", ``, nil, 421, "Host", refusedHost},
		{"foreign host on metrics", "GET", "rebind.attacker.example", "/metrics", ``, nil, 421, "Host", refusedHost},
		{"localhost subdomain", "GET", "evil.localhost", "/v1/members", ``, nil, 421, "Host", refusedHost},
		{"empty host", "GET", "", "/v1/members", ``, nil, 421, "Host", refusedHost},
		{"origin on a POST", "POST", "127.0.0.1:7947", "/v1/leases/job", `{}`,
			map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:7947"}, 403, "Origin", refusedOrigin},
		{"origin null", "POST", "localhost:7947", "/v1/leases/job", `{}`,
			map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403, "Origin", refusedOrigin},
		{"origin on a GET", "GET", "127.0.0.1", "/v1/leases", ``, map[string]string{"Origin": "http://x.example"}, 403, "Origin", refusedOrigin},
		{"text/plain body", "POST", "127.0.0.1:7947", "/v1/leases/job", `{"hold":true}`,
			map[string]string{"Content-Type": "text/plain"}, 415, "application/json", refusedContentType},
		{"form body (curl -d)", "POST", "localhost:7947", "/v1/leases/job", `{"ttl":"5s"}`,
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json", refusedContentType},
		{"multipart body", "POST", "[::1]:7947", "/v1/leases/job/keepalive", `{"token":"1"}`,
			map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 415, "application/json", refusedContentType},
		{"body without Content-Type", "POST", "127.0.0.1", "/v1/leases/job", `{}`, nil, 415, "without Content-Type", refusedContentType},
		{"text/plain on an empty DELETE", "DELETE", "127.0.0.1", "/v1/leases/job?token=1", ``,
			map[string]string{"Content-Type": "text/plain"}, 415, "application/json", refusedContentType},
		{"malformed Content-Type", "POST", "127.0.0.1", "/v1/leases/job", `{}`,
			map[string]string{"Content-Type": "application/json;;="}, 415, "application/json", refusedContentType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			series := `tenure_http_refused_total{reason="` + tc.reason + `"}`
			before := f.metric(series)
			code, e := f.serve(tc.method, tc.host, tc.path, tc.body, tc.header)
			if code != tc.status || !strings.Contains(e.Error, tc.want) {
				t.Fatalf("%d %q, want %d saying %q", code, e.Error, tc.status, tc.want)
			}
			if after := f.metric(series); after != before+1 {
				t.Fatalf("%s went from %v to %v, want one more", series, before, after)
			}
		})
	}
	if ls := f.leases(); len(ls) != 0 {
		t.Fatalf("refused requests took leases: %+v", ls)
	}
	if v := f.metric(`tenure_hold_streams`); v != 0 {
		t.Fatalf("tenure_hold_streams = %v after refusals, want 0", v)
	}
}

// What a token-less agent accepts: localhost and IP literals as Host, a
// JSON body (with parameters), and an empty body without Content-Type (a
// DELETE or an acquire with every default).
func TestLocalGuardAccepts(t *testing.T) {
	f := newFixture(t, "")
	for _, host := range []string{"localhost", "LocalHost:7947", "127.0.0.1", "127.0.0.2:80", "[::1]", "[::1]:7947", "10.1.2.3:7947", "[fe80::1%25lo]:7947"} {
		if code, e := f.serve("GET", host, "/v1/members", "", nil); code != http.StatusOK {
			t.Errorf("Host %q: %d %q, want 200", host, code, e.Error)
		}
	}
	code, _ := f.serve("POST", "127.0.0.1", "/v1/leases/plain", "", nil)
	if code != http.StatusOK {
		t.Fatalf("acquire with an empty body and no Content-Type: %d, want 200", code)
	}
	g := f.leases()[0]
	code, e := f.serve("POST", "localhost:1", "/v1/leases/json/keepalive", `{"token":"1"}`, map[string]string{"Content-Type": "Application/JSON; charset=utf-8"})
	if code != http.StatusGone {
		t.Fatalf("keepalive with Content-Type Application/JSON; charset=utf-8: %d %q, want the handler's 410", code, e.Error)
	}
	// The project's own client: acquire, keepalive, DELETE without a body.
	c := &api.Client{BaseURL: f.srv.URL}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cg, _, err := c.Acquire(ctx, "client", api.AcquireRequest{TTL: api.Duration(2 * time.Second)})
	if err != nil {
		t.Fatalf("Client.Acquire: %v", err)
	}
	if _, _, err := c.Keepalive(ctx, "client", cg.Token, cg.LeaseKey); err != nil {
		t.Fatalf("Client.Keepalive: %v", err)
	}
	if err := c.Release(ctx, "client", cg.Token, cg.LeaseKey); err != nil {
		t.Fatalf("Client.Release: %v", err)
	}
	if ls := f.leases(); len(ls) != 1 || ls[0].Name != g.Name {
		t.Fatalf("leases: %+v, want only %q", ls, g.Name)
	}
}

// With a bearer token the token is the access control: the browser rules
// do not apply (a page cannot learn the token), and the scheme is
// case-insensitive (RFC 7235).
func TestBearerScheme(t *testing.T) {
	f := newFixture(t, "s3cret-token")
	for _, tc := range []struct {
		header string
		status int
	}{
		{"Bearer s3cret-token", 200},
		{"bearer s3cret-token", 200},
		{"BEARER s3cret-token", 200},
		{"bEaReR   s3cret-token", 200},
		{"Bearer", 401},
		{"Bearer ", 401},
		{"Bearers3cret-token", 401},
		{"Basic s3cret-token", 401},
		{"bearer s3cret-tokenx", 401},
	} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/v1/leases", nil)
		req.Header.Set("Authorization", tc.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("Authorization %q: %d, want %d", tc.header, resp.StatusCode, tc.status)
		}
	}
	code, e := f.serve("GET", "attacker.example", "/v1/leases", "", map[string]string{"Authorization": "bearer s3cret-token", "Origin": "http://x.example"})
	if code != http.StatusOK {
		t.Fatalf("with the token, any Host and Origin: %d %q, want 200", code, e.Error)
	}
}

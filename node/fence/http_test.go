package fence

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve sends one request with the given headers (nil slice: header absent)
// through g's middleware and returns the status, the decoded JSON body (nil
// for the wrapped handler's plain answer) and whether the wrapped handler ran.
func serve(t *testing.T, g *Guard, name, token []string) (int, map[string]string, bool) {
	t.Helper()
	ran := false
	h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran = true
		_, _ = w.Write([]byte("done"))
	}))
	req := httptest.NewRequest(http.MethodPost, "/write", nil)
	for _, v := range name {
		req.Header.Add(NameHeader, v)
	}
	for _, v := range token {
		req.Header.Add(TokenHeader, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK {
		if rec.Body.String() != "done" {
			t.Fatalf("200 body = %q", rec.Body.String())
		}
		return rec.Code, nil, ran
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d body %q: %v", rec.Code, rec.Body.String(), err)
	}
	return rec.Code, body, ran
}

func TestMiddleware(t *testing.T) {
	one := func(s string) []string { return []string{s} }
	tests := []struct {
		desc        string
		name, token []string
		status      int
		errContains string
	}{
		{"missing name", nil, one("5"), 400, NameHeader},
		{"missing token", one("db"), nil, 400, TokenHeader},
		{"two names", []string{"db", "db"}, one("5"), 400, NameHeader},
		{"two tokens", one("db"), []string{"5", "9"}, 400, TokenHeader},
		{"empty token", one("db"), one(""), 400, "decimal"},
		{"hex token", one("db"), one("0x10"), 400, "decimal"},
		{"signed token", one("db"), one("+9"), 400, "decimal"},
		{"negative token", one("db"), one("-9"), 400, "decimal"},
		{"overflow token", one("db"), one("18446744073709551616"), 400, "decimal"},
		{"zero token", one("db"), one("0"), 400, "missing fencing token"},
		{"empty name", one(""), one("5"), 400, "invalid lease name"},
		{"long name", one(strings.Repeat("n", MaxNameLen+1)), one("5"), 400, "invalid lease name"},
		{"first token", one("db"), one("8"), 200, ""},
		{"equal token", one("db"), one("8"), 200, ""},
		{"stale token", one("db"), one("7"), 409, "stale token"},
		{"other name", one("cache"), one("7"), 200, ""},
		{"higher token", one("db"), one("18446744073709551615"), 200, ""},
		{"stale after raise", one("db"), one("8"), 409, "stale token"},
	}
	g := New() // shared: the cases run in order against one Guard
	for _, tc := range tests {
		status, body, ran := serve(t, g, tc.name, tc.token)
		if status != tc.status {
			t.Fatalf("%s: status %d, want %d (body %v)", tc.desc, status, tc.status, body)
		}
		if ran != (status == 200) {
			t.Fatalf("%s: status %d but handler ran = %v", tc.desc, status, ran)
		}
		if tc.errContains != "" && !strings.Contains(body["error"], tc.errContains) {
			t.Fatalf("%s: error %q does not contain %q", tc.desc, body["error"], tc.errContains)
		}
	}
}

func TestMiddlewareStaleBody(t *testing.T) {
	g := New()
	if err := g.Admit("db", 1<<60); err != nil {
		t.Fatal(err)
	}
	status, body, _ := serve(t, g, []string{"db"}, []string{"7"})
	want := map[string]string{
		"error":   "stale token",
		"name":    "db",
		"token":   "7",
		"highest": "1152921504606846976", // 1<<60, beyond JavaScript's exact range
	}
	if status != http.StatusConflict {
		t.Fatalf("status %d", status)
	}
	if len(body) != len(want) {
		t.Fatalf("body %v, want %v", body, want)
	}
	for k, v := range want {
		if body[k] != v {
			t.Fatalf("body[%q] = %q, want %q", k, body[k], v)
		}
	}
}

func TestMiddlewareUnavailable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := open(t, filepath.Join(dir, "tokens"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	status, body, ran := serve(t, g, []string{"db"}, []string{"5"})
	if status != http.StatusServiceUnavailable || ran || !strings.Contains(body["error"], "cannot persist") {
		t.Fatalf("raise without disk: status %d, ran %v, body %v; want 503", status, ran, body)
	}
	_ = g.Close()
	status, body, ran = serve(t, g, []string{"db"}, []string{"5"})
	if status != http.StatusServiceUnavailable || ran || !strings.Contains(body["error"], "closed") {
		t.Fatalf("closed: status %d, ran %v, body %v; want 503", status, ran, body)
	}
}

// The wrapped handler runs under the name's lock: a request that arrives
// while an older one is inside the handler waits, and a newer token admitted
// meanwhile makes the older holder's next request stale.
func TestMiddlewareHandlerUnderLock(t *testing.T) {
	g := New()
	entered := make(chan struct{})
	release := make(chan struct{})
	var order []string // appended only by handlers, so only under the lock
	h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Header.Get(TokenHeader)
		if token == "5" && order == nil {
			close(entered)
			<-release
		}
		order = append(order, token)
	}))
	send := func(token string) int {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Header.Set(NameHeader, "db")
		req.Header.Set(TokenHeader, token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	first := make(chan int)
	go func() { first <- send("5") }()
	<-entered
	second := make(chan int)
	go func() { second <- send("6") }()
	// The token-6 request cannot be admitted while token 5's handler runs.
	select {
	case code := <-second:
		t.Fatalf("token 6 answered %d while token 5's handler held the lease name", code)
	default:
	}
	close(release)
	if code := <-first; code != 200 {
		t.Fatalf("token 5: %d", code)
	}
	if code := <-second; code != 200 {
		t.Fatalf("token 6: %d", code)
	}
	if code := send("5"); code != http.StatusConflict {
		t.Fatalf("token 5 after 6: %d, want 409", code)
	}
	if strings.Join(order, ",") != "5,6" {
		t.Fatalf("handlers ran in order %v, want [5 6]", order)
	}
}

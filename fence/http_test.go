package fence

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fenced returns g's middleware around a handler that answers "done" and
// sets *ran, mounted on "POST /res/{name}" and routed by that path value:
// the resource a request addresses is the lease name it is fenced by.
func fenced(g *Guard, ran *bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /res/{name}", g.Middleware(PathValue("name"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*ran = true
		_, _ = w.Write([]byte("done"))
	})))
	return mux
}

// serve sends one request for resource with the given headers (nil slice:
// header absent) through h and returns the status and the decoded JSON body
// (nil for the wrapped handler's plain answer).
func serve(t *testing.T, h http.Handler, resource string, name, token []string) (int, map[string]string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/res/"+url.PathEscape(resource), nil)
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
		return rec.Code, nil
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d body %q: %v", rec.Code, rec.Body.String(), err)
	}
	return rec.Code, body
}

func TestMiddleware(t *testing.T) {
	one := func(s string) []string { return []string{s} }
	long := strings.Repeat("n", MaxNameLen+1)
	tests := []struct {
		desc        string
		resource    string
		name, token []string
		status      int
		errContains string
	}{
		{"missing token", "db", one("db"), nil, 400, TokenHeader},
		{"two names", "db", []string{"db", "db"}, one("5"), 400, NameHeader},
		{"two tokens", "db", one("db"), []string{"5", "9"}, 400, TokenHeader},
		{"empty token", "db", one("db"), one(""), 400, "decimal"},
		{"hex token", "db", one("db"), one("0x10"), 400, "decimal"},
		{"signed token", "db", one("db"), one("+9"), 400, "decimal"},
		{"negative token", "db", one("db"), one("-9"), 400, "decimal"},
		{"overflow token", "db", one("db"), one("18446744073709551616"), 400, "decimal"},
		{"zero token", "db", one("db"), one("0"), 400, "missing fencing token"},
		{"long name", long, nil, one("5"), 400, "invalid lease name"},
		{"first token", "db", one("db"), one("8"), 200, ""},
		{"equal token, no name header", "db", nil, one("8"), 200, ""},
		{"stale token", "db", one("db"), one("7"), 409, "stale token"},
		{"stale token, no name header", "db", nil, one("7"), 409, "stale token"},
		{"other resource", "cache", one("cache"), one("7"), 200, ""},
		{"higher token", "db", one("db"), one("18446744073709551615"), 200, ""},
		{"stale after raise", "db", one("db"), one("8"), 409, "stale token"},
		// A name header for another lease is refused whatever its token.
		{"name header of another lease", "db", one("cache"), one("18446744073709551615"), 400, "does not protect"},
	}
	g := New() // shared: the cases run in order against one Guard
	for _, tc := range tests {
		ran := false
		status, body := serve(t, fenced(g, &ran), tc.resource, tc.name, tc.token)
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

// The reproduction of issue 13 item 6: a holder whose token is stale for
// "db" sent it with Lease-Name "DB", "db#0" or the NFD spelling of "café",
// names whose highest token is lower (each is a lease of its own), and the
// old middleware, which fenced by the header, let it write. Now the name
// comes from the route, and a header naming another lease is refused.
func TestMiddlewareOtherSpellingRefused(t *testing.T) {
	const nfc, nfd = "caf\u00e9", "cafe\u0301" // "café" composed, and decomposed
	cases := []struct{ resource, spelling string }{
		{"db", "DB"},
		{"db", "db#0"}, // slot 0 of a semaphore "db" (node.SlotName)
		{nfc, nfd},
	}
	for _, tc := range cases {
		g := New()
		ran := false
		h := fenced(g, &ran)
		if status, body := serve(t, h, tc.resource, []string{tc.resource}, []string{"9"}); status != 200 {
			t.Fatalf("%q: token 9: %d %v", tc.resource, status, body)
		}
		ran = false
		status, body := serve(t, h, tc.resource, []string{tc.spelling}, []string{"7"})
		if status != http.StatusBadRequest || ran || !strings.Contains(body["error"], ErrWrongName.Error()) {
			t.Fatalf("%q as %q with stale token 7: status %d, ran %v, body %v; want 400 %q",
				tc.resource, tc.spelling, status, ran, body, ErrWrongName)
		}
		if _, ok := g.Highest(tc.spelling); ok {
			t.Fatalf("%q: the refused request admitted a token for %q", tc.resource, tc.spelling)
		}
		if h, _ := g.Highest(tc.resource); h != 9 {
			t.Fatalf("%q: highest %d after the refusal, want 9", tc.resource, h)
		}
		// Without the header the token is checked against the route's name.
		if status, _ := serve(t, h, tc.resource, nil, []string{"7"}); status != http.StatusConflict || ran {
			t.Fatalf("%q: stale token 7 without a name header: status %d, ran %v; want 409", tc.resource, status, ran)
		}
	}
}

// A request the route maps to no name, or to an invalid one, is refused
// before any token is read; a middleware without a route cannot be built.
func TestMiddlewareRouteRefused(t *testing.T) {
	g := New()
	ran := false
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true })
	cases := []struct {
		desc   string
		route  Route
		errSub string
	}{
		{"route error", func(*http.Request) (string, error) { return "", errors.New("no such route") }, "no such route"},
		{"empty name", func(*http.Request) (string, error) { return "", nil }, "invalid lease name"},
		{"control character", func(*http.Request) (string, error) { return "a\nb", nil }, "invalid lease name"},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Header.Set(TokenHeader, "5")
		rec := httptest.NewRecorder()
		g.Middleware(tc.route, next).ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || ran || !strings.Contains(rec.Body.String(), tc.errSub) {
			t.Fatalf("%s: status %d, ran %v, body %q; want 400 mentioning %q", tc.desc, rec.Code, ran, rec.Body.String(), tc.errSub)
		}
	}
	// PathValue on a pattern without the wildcard refuses every request.
	mux := http.NewServeMux()
	mux.Handle("POST /res/", g.Middleware(PathValue("name"), next))
	req := httptest.NewRequest(http.MethodPost, "/res/db", nil)
	req.Header.Set(TokenHeader, "5")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || ran || !strings.Contains(rec.Body.String(), "{name}") {
		t.Fatalf("PathValue without the wildcard: status %d, ran %v, body %q", rec.Code, ran, rec.Body.String())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Middleware(nil, next) did not panic")
		}
	}()
	g.Middleware(nil, next)
}

// Resource.Middleware fences every request by the one name it is bound to.
func TestResourceMiddleware(t *testing.T) {
	r, err := New().Resource("orders")
	if err != nil {
		t.Fatal(err)
	}
	h := r.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("done")) }))
	send := func(name, token string) int {
		req := httptest.NewRequest(http.MethodPut, "/anything/at/all", nil)
		if name != "" {
			req.Header.Set(NameHeader, name)
		}
		req.Header.Set(TokenHeader, token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	steps := []struct {
		name, token string
		status      int
	}{
		{"orders", "9", 200},
		{"", "9", 200},
		{"orders", "7", 409},
		{"Orders", "7", 400},
		{"Orders", "10", 400}, // another lease's token, however high, proves nothing here
		{"", "10", 200},
	}
	for i, s := range steps {
		if got := send(s.name, s.token); got != s.status {
			t.Fatalf("step %d: Lease-Name %q token %s: %d, want %d", i, s.name, s.token, got, s.status)
		}
	}
	if h, _ := r.Highest(); h != 10 {
		t.Fatalf("highest %d, want 10", h)
	}
}

func TestMiddlewareStaleBody(t *testing.T) {
	g := New()
	if err := g.Admit("db", 1<<60); err != nil {
		t.Fatal(err)
	}
	ran := false
	status, body := serve(t, fenced(g, &ran), "db", nil, []string{"7"})
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
	ran := false
	h := fenced(g, &ran)
	status, body := serve(t, h, "db", []string{"db"}, []string{"5"})
	if status != http.StatusServiceUnavailable || ran || !strings.Contains(body["error"], "cannot persist") {
		t.Fatalf("raise without disk: status %d, ran %v, body %v; want 503", status, ran, body)
	}
	_ = g.Close()
	status, body = serve(t, h, "db", []string{"db"}, []string{"5"})
	if status != http.StatusServiceUnavailable || ran || !strings.Contains(body["error"], "closed") {
		t.Fatalf("closed: status %d, ran %v, body %v; want 503", status, ran, body)
	}
}

// The wrapped handler runs under the name's lock: a request that arrives
// while an older one is inside the handler waits, and a newer token admitted
// meanwhile makes the older holder's next request stale.
func TestMiddlewareHandlerUnderLock(t *testing.T) {
	r, err := New().Resource("db")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	var order []string // appended only by handlers, so only under the lock
	h := r.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

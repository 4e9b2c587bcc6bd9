package register

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenure-dev/tenure/fence"
)

// open starts a register on a file in a fresh directory.
func open(t *testing.T, path string, opts Options) *Server {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// do sends one request to s and returns the status and decoded JSON body.
func do(t *testing.T, s http.Handler, method, path string, hdr map[string]string, body string) (int, map[string]string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil && rec.Code != http.StatusOK {
		t.Fatalf("%s %s: status %d, body %q: %v", method, path, rec.Code, rec.Body.String(), err)
	}
	return rec.Code, out
}

func put(t *testing.T, s http.Handler, key, name, token, value string) (int, map[string]string) {
	t.Helper()
	hdr := map[string]string{fence.TokenHeader: token}
	if name != "" {
		hdr[fence.NameHeader] = name
	}
	b, _ := json.Marshal(map[string]string{"value": value})
	return do(t, s, http.MethodPut, "/v1/keys/"+key, hdr, string(b))
}

func TestServerAPI(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "values"), Options{})
	steps := []struct {
		desc          string
		method, key   string
		token, value  string
		status        int
		wantValue     string
		wantToken     string
		errorContains string
	}{
		{"read missing", "GET", "k", "", "", 404, "", "", "no such key"},
		{"first write", "PUT", "k", "5", "a", 200, "a", "5", ""},
		{"read back", "GET", "k", "", "", 200, "a", "5", ""},
		{"same tenure writes again", "PUT", "k", "5", "b", 200, "b", "5", ""},
		{"later tenure", "PUT", "k", "9", "c", 200, "c", "9", ""},
		{"stale write refused", "PUT", "k", "7", "zombie", 409, "", "7", "stale token"},
		{"stale write changed nothing", "GET", "k", "", "", 200, "c", "9", ""},
		{"zero token", "PUT", "k", "0", "x", 400, "", "", "missing fencing token"},
		{"bad token", "PUT", "k", "x", "x", 400, "", "", "decimal"},
	}
	for _, st := range steps {
		var code int
		var body map[string]string
		if st.method == "GET" {
			code, body = do(t, s, "GET", "/v1/keys/"+st.key, nil, "")
		} else {
			code, body = put(t, s, st.key, st.key, st.token, st.value)
		}
		if code != st.status {
			t.Fatalf("%s: status %d, want %d (%v)", st.desc, code, st.status, body)
		}
		if st.wantValue != "" && body["value"] != st.wantValue {
			t.Fatalf("%s: value %q, want %q", st.desc, body["value"], st.wantValue)
		}
		if st.wantToken != "" && body["token"] != st.wantToken {
			t.Fatalf("%s: token %q, want %q", st.desc, body["token"], st.wantToken)
		}
		if st.errorContains != "" && !strings.Contains(body["error"], st.errorContains) {
			t.Fatalf("%s: error %q, want it to contain %q", st.desc, body["error"], st.errorContains)
		}
	}
	// Lease-Name is optional (the lease is the key's), but must name the key.
	if code, body := do(t, s, "PUT", "/v1/keys/k", map[string]string{fence.NameHeader: "other", fence.TokenHeader: "9"}, `{"value":"x"}`); code != 400 {
		t.Fatalf("Lease-Name of another key: %d %v", code, body)
	}
	if code, body := do(t, s, "PUT", "/v1/keys/k", map[string]string{fence.NameHeader: "k"}, `{"value":"x"}`); code != 400 {
		t.Fatalf("missing Fencing-Token: %d %v", code, body)
	}
	if code, body := do(t, s, "PUT", "/v1/keys/k", map[string]string{fence.TokenHeader: "9"}, `{"value":"d"}`); code != 200 || body["value"] != "d" {
		t.Fatalf("no Lease-Name: %d %v", code, body)
	}
	if code, body := do(t, s, "PUT", "/v1/keys/k", map[string]string{fence.NameHeader: "k", fence.TokenHeader: "9"}, `{"val":"x"}`); code != 400 {
		t.Fatalf("body without value: %d %v", code, body)
	}
	if code, _ := do(t, s, "GET", "/healthz", nil, ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
}

// The reproduction of issue 13 item 6: a holder whose token is stale for
// the key "db" sent it with Lease-Name "DB" or "db#0", or for "café" with
// the NFD spelling, and the register, which fenced by the header's name,
// accepted it. The lease is now the key's own: a header naming another
// lease is refused, and without the header the token is stale.
func TestServerOtherSpellingRefused(t *testing.T) {
	const nfc, nfd = "caf\u00e9", "cafe\u0301" // "café" composed, and decomposed
	s := open(t, filepath.Join(t.TempDir(), "values"), Options{})
	cases := []struct{ key, spelling string }{{"db", "DB"}, {"db", "db#0"}, {nfc, nfd}}
	for _, tc := range cases {
		if code, body := put(t, s, url.PathEscape(tc.key), tc.key, "9", "new"); code != 200 {
			t.Fatalf("%q: write with 9: %d %v", tc.key, code, body)
		}
		code, body := put(t, s, url.PathEscape(tc.key), tc.spelling, "7", "zombie")
		if code != http.StatusBadRequest || !strings.Contains(body["error"], fence.ErrWrongName.Error()) {
			t.Fatalf("%q as %q with stale 7: %d %v; want 400 %q", tc.key, tc.spelling, code, body, fence.ErrWrongName)
		}
		if code, body := put(t, s, url.PathEscape(tc.key), "", "7", "zombie"); code != http.StatusConflict || body["highest"] != "9" {
			t.Fatalf("%q with stale 7 and no Lease-Name: %d %v; want 409", tc.key, code, body)
		}
		if e, _ := s.Get(tc.key); e.Value != "new" || e.Token != 9 {
			t.Fatalf("%q: entry %+v after the refused writes, want new@9", tc.key, e)
		}
	}
	// A key that no lease could be named after is refused.
	if code, body := put(t, s, "a%01b", "", "5", "x"); code != http.StatusBadRequest || !strings.Contains(body["error"], "invalid lease name") {
		t.Fatalf("key with a control character: %d %v", code, body)
	}
}

// An acknowledged write and the token floor survive a restart: the restarted
// register returns the value and still refuses the stale holder.
func TestServerRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "values")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := put(t, s, "k", "k", "9", "kept"); code != 200 {
		t.Fatalf("write: %d %v", code, body)
	}
	if code, body := put(t, s, "other", "other", "11", "x"); code != 200 {
		t.Fatalf("write: %d %v", code, body)
	}
	_ = s.Close()
	if err := s.Put("k", 12, "after close"); err == nil {
		t.Fatal("write after Close succeeded")
	}
	s = open(t, path, Options{})
	if code, body := do(t, s, "GET", "/v1/keys/k", nil, ""); code != 200 || body["value"] != "kept" || body["token"] != "9" {
		t.Fatalf("after restart: %d %v", code, body)
	}
	// Each key keeps its own floor across the restart.
	if code, body := put(t, s, "k", "k", "8", "stale"); code != 409 || body["highest"] != "9" {
		t.Fatalf("stale after restart: %d %v", code, body)
	}
	if code, body := put(t, s, "other", "other", "10", "stale"); code != 409 || body["highest"] != "11" {
		t.Fatalf("stale after restart: %d %v", code, body)
	}
}

// The broken build admits the stale write the fenced one refuses.
func TestServerUnsafeNoFence(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "values"), Options{UnsafeNoFence: true})
	if err := s.Put("k", 9, "new"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("k", 7, "zombie"); err != nil {
		t.Fatalf("unsafe mode refused a stale write: %v", err)
	}
	if e, _ := s.Get("k"); e.Value != "zombie" || e.Token != 7 {
		t.Fatalf("entry %+v", e)
	}
	if err := s.Put("k", 0, "x"); !errors.Is(err, fence.ErrNoToken) {
		t.Fatalf("token 0: %v", err)
	}
}

package agent

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tenure-dev/tenure/api"
)

// TestBadInput sends every kind of bad request and checks that the agent
// answers with the right 4xx and a JSON error that says what is wrong, and
// that none of it touches a lease another client holds.
func TestBadInput(t *testing.T) {
	f := newFixture(t, "")
	g := f.acquire("victim", `{"ttl":"5s"}`)
	keep := func() { // keep the victim alive across the table
		if code, b := f.doKey("POST", "/v1/leases/victim/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey); code != http.StatusOK {
			t.Fatalf("keepalive of the victim: %d %s", code, b)
		}
	}
	long := strings.Repeat("n", 257)
	wrongKey := strings.Repeat("0", 2*leaseKeyBytes)
	for _, tc := range []struct {
		name, method, path, body string
		key                      string // the Tenure-Lease-Key header
		status                   int
		want                     string // substring of the error
	}{
		{"malformed JSON", "POST", "/v1/leases/x", `{"ttl":`, "", 400, "malformed JSON"},
		{"not an object", "POST", "/v1/leases/x", `[1,2]`, "", 400, "cannot use"},
		{"syntax error", "POST", "/v1/leases/x", `{ttl: 5s}`, "", 400, "malformed JSON"},
		{"unknown field", "POST", "/v1/leases/x", `{"ttl":"1s","tll":"2s"}`, "", 400, `unknown field "tll"`},
		{"trailing data", "POST", "/v1/leases/x", `{}{}`, "", 400, "after the JSON object"},
		{"body over 64 KiB", "POST", "/v1/leases/x", `{"value":"` + strings.Repeat("v", 70<<10) + `"}`, "", 413, "larger than"},
		{"empty name", "POST", "/v1/leases/", `{}`, "", 400, "empty"},
		{"name too long", "POST", "/v1/leases/" + long, `{}`, "", 400, "longer than 256"},
		{"name with control character", "POST", "/v1/leases/a%01b", `{}`, "", 400, "printable"},
		{"name not UTF-8", "POST", "/v1/leases/a%ffb", `{}`, "", 400, "printable"},
		{"ttl below minimum", "POST", "/v1/leases/x", `{"ttl":"10ms"}`, "", 400, "ttl 10ms outside"},
		{"ttl above maximum", "POST", "/v1/leases/x", `{"ttl":"1h"}`, "", 400, "ttl 1h0m0s outside"},
		{"ttl negative", "POST", "/v1/leases/x", `{"ttl":"-1s"}`, "", 400, "outside"},
		{"ttl as a number", "POST", "/v1/leases/x", `{"ttl":5}`, "", 400, "duration string"},
		{"ttl unparsable", "POST", "/v1/leases/x", `{"ttl":"soon"}`, "", 400, "invalid duration"},
		{"wait negative", "POST", "/v1/leases/x", `{"wait":"-1s"}`, "", 400, "wait -1s outside"},
		{"wait too long", "POST", "/v1/leases/x", `{"wait":"100h"}`, "", 400, "wait 100h0m0s outside"},
		{"value too long", "POST", "/v1/leases/x", `{"value":"` + strings.Repeat("v", 513) + `"}`, "", 400, "value is 513 bytes"},
		{"hold not a bool", "POST", "/v1/leases/x", `{"hold":"yes"}`, "", 400, "hold"},
		{"keepalive without body", "POST", "/v1/leases/victim/keepalive", ``, "", 400, "empty"},
		{"keepalive without token", "POST", "/v1/leases/victim/keepalive", `{}`, "", 400, "token is required"},
		{"keepalive token garbage", "POST", "/v1/leases/victim/keepalive", `{"token":"abc"}`, "", 400, "not an unsigned"},
		{"keepalive token negative", "POST", "/v1/leases/victim/keepalive", `{"token":-1}`, "", 400, "not an unsigned"},
		{"keepalive unknown field", "POST", "/v1/leases/victim/keepalive", `{"token":1,"x":1}`, "", 400, "unknown field"},
		{"keepalive unknown lease", "POST", "/v1/leases/nobody/keepalive", `{"token":1}`, "", 410, "no tenure"},
		{"keepalive earlier token", "POST", "/v1/leases/victim/keepalive", `{"token":1}`, "", 410, "ended"},
		{"keepalive wrong token", "POST", "/v1/leases/victim/keepalive", `{"token":"18446744073709551615"}`, "", 409, "does not match"},
		{"keepalive without lease key", "POST", "/v1/leases/victim/keepalive", `{"token":"` + g.TokenStr + `"}`, "", 403, "lease key missing or wrong"},
		{"keepalive wrong lease key", "POST", "/v1/leases/victim/keepalive", `{"token":"` + g.TokenStr + `"}`, wrongKey, 403, "lease key missing or wrong"},
		{"keepalive wrong lease key in body", "POST", "/v1/leases/victim/keepalive", `{"token":"` + g.TokenStr + `","lease_key":"` + wrongKey + `"}`, "", 403, "lease key missing or wrong"},
		{"keepalive key of another length", "POST", "/v1/leases/victim/keepalive", `{"token":"` + g.TokenStr + `"}`, g.LeaseKey[:8], 403, "lease key missing or wrong"},
		{"keepalive token number above 2^53-1", "POST", "/v1/leases/victim/keepalive", `{"token":9007199254740992}`, g.LeaseKey, 400, "may have been rounded"},
		{"keepalive token in exponent form", "POST", "/v1/leases/victim/keepalive", `{"token":1e3}`, g.LeaseKey, 400, "in digits"},
		{"keepalive token with a fraction", "POST", "/v1/leases/victim/keepalive", `{"token":1.0}`, g.LeaseKey, 400, "in digits"},
		{"keepalive token null", "POST", "/v1/leases/victim/keepalive", `{"token":null}`, g.LeaseKey, 400, "token"},
		{"release without token", "DELETE", "/v1/leases/victim", ``, "", 400, "token query parameter is required"},
		{"release token garbage", "DELETE", "/v1/leases/victim?token=x", ``, "", 400, "not a positive"},
		{"release token zero", "DELETE", "/v1/leases/victim?token=0", ``, "", 400, "not a positive"},
		{"release earlier token", "DELETE", "/v1/leases/victim?token=1", ``, "", 410, "ended"},
		{"release wrong token", "DELETE", "/v1/leases/victim?token=18446744073709551615", ``, "", 409, "does not match"},
		{"release unknown lease", "DELETE", "/v1/leases/nobody?token=5", ``, "", 410, "no tenure"},
		{"release without lease key", "DELETE", "/v1/leases/victim?token=" + g.TokenStr, ``, "", 403, "lease key missing or wrong"},
		{"release wrong lease key", "DELETE", "/v1/leases/victim?token=" + g.TokenStr, ``, wrongKey, 403, "lease key missing or wrong"},
		{"holder name too long", "GET", "/v1/leases/" + long, ``, "", 400, "longer than 256"},
		{"slots negative", "POST", "/v1/leases/x", `{"slots":-1}`, "", 400, "slots -1 outside"},
		{"slots too many", "POST", "/v1/leases/x", `{"slots":5000}`, "", 400, "slots 5000 outside"},
		{"slots not a number", "POST", "/v1/leases/x", `{"slots":"2"}`, "", 400, "slots"},
		{"slot names too long", "POST", "/v1/leases/" + strings.Repeat("n", 255), `{"slots":20}`, "", 400, "too long for 20 slots"},
		{"watch bad value", "GET", "/v1/leases/x?watch=yes", ``, "", 400, "watch="},
		{"watch name too long", "GET", "/v1/leases/" + long + "?watch=1", ``, "", 400, "longer than 256"},
		{"unknown path", "GET", "/v2/leases", ``, "", 404, "not found"},
		{"wrong method", "PUT", "/v1/leases/x", `{}`, "", 405, "method not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep()
			code, b := f.doKey(tc.method, tc.path, tc.body, tc.key)
			if code != tc.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", tc.method, tc.path, code, tc.status, b)
			}
			var e api.ErrorResponse
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
				t.Fatalf("body %q is not a JSON error: %v", b, err)
			}
			if !strings.Contains(e.Error, tc.want) {
				t.Fatalf("error %q does not say %q", e.Error, tc.want)
			}
		})
	}
	// The victim's tenure is untouched by all of it.
	ls := f.leases()
	if len(ls) != 1 || ls[0].Name != "victim" || ls[0].Token != g.Token {
		t.Fatalf("leases after the bad requests: %+v, want only victim with token %d", ls, g.Token)
	}
	if v := f.metric(`tenure_releases_total{reason="client"}`); v != 0 {
		t.Fatalf("releases by client = %v, want 0", v)
	}
}

// TestAuth checks the bearer token: missing or wrong is 401 with a JSON
// error, right passes, and /healthz needs none.
func TestAuth(t *testing.T) {
	f := newFixture(t, "s3cret-token")
	for _, tc := range []struct {
		name, header string
		status       int
	}{
		{"missing", "", 401},
		{"wrong scheme", "Basic czNjcmV0LXRva2Vu", 401},
		{"wrong token", "Bearer s3cret-tokem", 401},
		{"prefix of token", "Bearer s3cret", 401},
		{"right token", "Bearer s3cret-token", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/v1/members", "/v1/leases", "/metrics"} {
				req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var e api.ErrorResponse
				_ = json.NewDecoder(resp.Body).Decode(&e)
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("GET %s with %q: %d, want %d", path, tc.header, resp.StatusCode, tc.status)
				}
				if tc.status == 401 && !strings.Contains(e.Error, "bearer token") {
					t.Fatalf("401 body error %q does not mention the bearer token", e.Error)
				}
			}
		})
	}
	resp, err := http.Get(f.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz without token: %d, want 200", resp.StatusCode)
	}
	// An unauthenticated acquire takes nothing.
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/leases/x", strings.NewReader(`{}`))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || len(f.leases()) != 0 {
		t.Fatalf("unauthenticated acquire: %d, leases %v", resp.StatusCode, f.leases())
	}
}

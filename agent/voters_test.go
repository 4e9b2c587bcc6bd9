package agent

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tenure-dev/tenure/api"
)

// getVoters reads GET /v1/voters and fails the test unless it is a 200.
func (f *fixture) getVoters() api.Voters {
	f.t.Helper()
	code, b := f.do("GET", "/v1/voters", "")
	if code != http.StatusOK {
		f.t.Fatalf("GET /v1/voters: %d %s", code, b)
	}
	var v api.Voters
	mustJSON(f.t, b, &v)
	return v
}

// TestVotersBadInput: every malformed PUT /v1/voters gets a clear 4xx and
// changes nothing.
func TestVotersBadInput(t *testing.T) {
	f := newFixture(t, "")
	v := f.getVoters()
	if v.Epoch != 0 || !slices.Equal(v.Voters, []string{"a"}) || v.Joint || v.Next != nil || !v.Voter || v.Node != "a" {
		t.Fatalf("initial voters: %+v", v)
	}
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"voters":[],"from_epoch":0}`, 400, "empty"},
		{`{"voters":["a","b","a"],"from_epoch":0}`, 400, "invalid voter"},
		{`{"voters":["a",""],"from_epoch":0}`, 400, "invalid voter"},
		{`{"voters":["a","b c"],"from_epoch":0}`, 400, "without spaces"},
		{`{"voters":["a","b,c"],"from_epoch":0}`, 400, "commas"},
		{`{"voters":["a","` + strings.Repeat("x", 200) + `"],"from_epoch":0}`, 400, "invalid voter"},
		{`{"voters":["a","b"]}`, 400, "from_epoch is required"},
		{`{"voters":"a,b","from_epoch":0}`, 400, "field"},
		{`{"voters":["a"],"from_epoch":-1}`, 400, "from_epoch"},
		{`{"voters":["a"],"from_epoch":0,"force":true}`, 400, "unknown field"},
		{`{"voters":["a"]`, 400, "malformed"},
		{`{"voters":["a","b"],"from_epoch":7}`, 409, "changed meanwhile"},
		{`{"voters":["a","` + strings.Repeat("x", 70<<10) + `"],"from_epoch":0}`, 413, "larger than"},
	} {
		code, b := f.do("PUT", "/v1/voters", c.body)
		var e api.ErrorResponse
		mustJSON(t, b, &e)
		short := c.body
		if len(short) > 60 {
			short = short[:60] + "..."
		}
		if code != c.code || !strings.Contains(e.Error, c.msg) {
			t.Errorf("PUT %s: %d %q, want %d with %q", short, code, e.Error, c.code, c.msg)
		}
		if got := f.getVoters(); got.Epoch != 0 || !slices.Equal(got.Voters, []string{"a"}) || got.Joint {
			t.Fatalf("PUT %s changed the voters: %+v", short, got)
		}
	}

	// Not JSON: refused before the handler by the token-less guard, and
	// by the handler itself behind a bearer token.
	for _, ff := range []*fixture{f, newFixture(t, "s3cret")} {
		req, err := http.NewRequest("PUT", ff.srv.URL+"/v1/voters", strings.NewReader(`voters=a,b&from_epoch=0`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if ff.token != "" {
			req.Header.Set("Authorization", "Bearer "+ff.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("form body (token %q): %d, want 415", ff.token, resp.StatusCode)
		}
		if got := ff.getVoters(); got.Epoch != 0 || got.Joint {
			t.Fatalf("form body changed the voters: %+v", got)
		}
	}

	// Behind a token, the routes need it like every other.
	tf := newFixture(t, "s3cret")
	tf.token = ""
	if code, _ := tf.do("GET", "/v1/voters", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/voters without the token: %d, want 401", code)
	}
	if code, _ := tf.do("PUT", "/v1/voters", `{"voters":["a","b"],"from_epoch":0}`); code != http.StatusUnauthorized {
		t.Errorf("PUT /v1/voters without the token: %d, want 401", code)
	}
}

// TestVotersNoQuorum: a change to a voter that does not run cannot find
// a majority of the new set. The PUT answers 503 and nothing changed: the
// node checks that a majority of the wanted voters answers before it
// proposes anything.
func TestVotersNoQuorum(t *testing.T) {
	f := newFixture(t, "")
	code, b := f.do("PUT", "/v1/voters", `{"voters":["a","ghost"],"from_epoch":0}`)
	var e api.ErrorResponse
	mustJSON(t, b, &e)
	if code != http.StatusServiceUnavailable || !strings.Contains(e.Error, "no majority") {
		t.Fatalf("change to a missing voter: %d %s, want 503 no majority", code, b)
	}
	if v := f.getVoters(); v.Joint || !slices.Equal(v.Voters, []string{"a"}) || v.Epoch != 0 {
		t.Fatalf("after the failed change: %+v, want epoch 0 with voter a", v)
	}
}

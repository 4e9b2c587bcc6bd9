package agent

import (
	"net/http"
	"testing"

	"github.com/tenure-dev/tenure/api"
)

// TestLeasesAllVoterView checks GET /v1/leases?all=1 on a voter's agent:
// every live lease its node knows, whoever holds it, labelled a hint with
// the voter's name; a released lease leaves the list; a bad all= is 400.
func TestLeasesAllVoterView(t *testing.T) {
	f := newFixture(t, "")
	code, b := f.do("POST", "/v1/leases/job", `{"value":"v1"}`)
	if code != http.StatusOK {
		t.Fatalf("acquire: %d %s", code, b)
	}
	var g api.Grant
	mustJSON(t, b, &g)
	code, b = f.do("GET", "/v1/leases?all=1", "")
	var v api.VoterLeases
	mustJSON(t, b, &v)
	if code != http.StatusOK || !v.Hint || v.Voter != "a" || v.ObservedAt.IsZero() || v.Quarantined || len(v.Leases) != 1 {
		t.Fatalf("?all=1: %d %s", code, b)
	}
	l := v.Leases[0]
	if l.Name != "job" || l.Node != "a" || l.Token != uint64(g.Token) || l.TokenStr != g.TokenStr || l.Value != "v1" || l.RemainingMS <= 0 || !l.Hint {
		t.Fatalf("lease %+v, want job held by a with token %s", l, g.TokenStr)
	}
	if code, b := f.doKey("DELETE", "/v1/leases/job?token="+g.TokenStr, "", g.LeaseKey); code != http.StatusNoContent {
		t.Fatalf("release: %d %s", code, b)
	}
	code, b = f.do("GET", "/v1/leases?all=true", "")
	v = api.VoterLeases{}
	mustJSON(t, b, &v)
	if code != http.StatusOK || v.Leases == nil || len(v.Leases) != 0 {
		t.Fatalf("?all=true after release: %d %s", code, b)
	}
	if code, b := f.do("GET", "/v1/leases?all=2", ""); code != http.StatusBadRequest {
		t.Fatalf("?all=2: %d %s, want 400", code, b)
	}
}

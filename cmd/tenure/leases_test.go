package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
)

// TestLeasesMerge checks the merge of voters' views: per name the highest
// token wins, with the voters that reported it; a voter that did not
// answer adds nothing.
func TestLeasesMerge(t *testing.T) {
	sent := time.Unix(1000, 0)
	h := func(name, node string, token uint64) api.HolderHint {
		return api.HolderHint{Name: name, Node: node, Token: token, RemainingMS: 900, Hint: true}
	}
	views := []leaseView{
		{Voter: "a", sent: sent, leases: []api.HolderHint{h("x", "n1", 5), h("y", "n2", 7)}},
		{Voter: "b", sent: sent.Add(time.Second), leases: []api.HolderHint{h("x", "n3", 9)}},
		{Voter: "c", sent: sent, leases: []api.HolderHint{h("x", "n3", 9), h("z", "n1", 1)}},
		{Agent: "http://d", Error: "down", leases: []api.HolderHint{h("w", "n9", 99)}},
	}
	got := mergeViews(views, sent.Add(2*time.Second))
	if len(got) != 3 {
		t.Fatalf("merged %d leases, want x, y, z: %+v", len(got), got)
	}
	x, y, z := got[0], got[1], got[2]
	if x.Name != "x" || x.Node != "n3" || x.Token != 9 || strings.Join(x.SeenBy, ",") != "b,c" || x.AgeMS != 1000 {
		t.Errorf("x = %+v, want n3's token 9 seen by b,c, reported 1s ago", x)
	}
	if y.Name != "y" || y.Token != 7 || strings.Join(y.SeenBy, ",") != "a" || z.Name != "z" || z.Token != 1 {
		t.Errorf("y = %+v, z = %+v", y, z)
	}
}

// TestLeasesCommand runs tenure leases against a real voter's agent: a
// lease held through it is listed with its holder and token, labelled a
// hint; an agent that does not answer is named on stderr, and exit 1 when
// none answers.
func TestLeasesCommand(t *testing.T) {
	dir := t.TempDir()
	url := startAgentProc(t, "--name", "a", "--voters", "a", "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--data-dir", filepath.Join(dir, "data"), "--new-cluster")
	c := &api.Client{BaseURL: url}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, _, err := c.Acquire(ctx, "nightly", api.AcquireRequest{TTL: api.Duration(5 * time.Second)})
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	// An address nothing listens on: a port this test held, then freed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()

	var out, errb bytes.Buffer
	if code := runMain([]string{"leases", "--agent", url + "," + dead, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("leases: exit %d: %s", code, errb.String())
	}
	var r leasesReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("leases --json: %v: %s", err, out.String())
	}
	if !r.Hint || len(r.Leases) != 1 || len(r.Voters) != 2 {
		t.Fatalf("leases --json: %s", out.String())
	}
	l := r.Leases[0]
	if l.Name != "nightly" || l.Node != "a" || l.TokenStr != g.TokenStr || l.RemainingMS <= 0 || strings.Join(l.SeenBy, ",") != "a" || l.ObservedAt.IsZero() {
		t.Fatalf("lease %+v, want nightly held by a with token %s", l, g.TokenStr)
	}
	if !strings.Contains(errb.String(), dead) {
		t.Errorf("the agent that did not answer is not named: %q", errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := runMain([]string{"leases", "--agent", url}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "a hint, as seen by voters a\n") || !strings.Contains(out.String(), "nightly  a       "+g.TokenStr) {
		t.Fatalf("leases: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if code := runMain([]string{"leases", "--agent", dead, "--timeout", "5s"}, &out, &errb); code != 1 {
		t.Fatalf("leases with no agent answering: exit %d, want 1", code)
	}
	if code := runMain([]string{"leases", "extra"}, &out, &errb); code != exitUsage {
		t.Fatalf("leases extra: exit %d, want 2", code)
	}
}

package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

const ms = int64(time.Millisecond)

// goodHistory is a run where everything held: client 0 writes and releases,
// client 1 takes over with a higher token, client 0's delayed (zombie) write
// is refused, client 2 takes over and its last write's fate is unknown.
func goodHistory() *History {
	return &History{Seed: 1, Cut: 5500 * ms, Ops: []Op{
		{Client: 0, Agent: "a0", Kind: Acquire, Key: "k", Start: 0, End: 10 * ms, Outcome: Ok, Token: 5, DeadlineMS: 2000},
		{Client: 0, Agent: "a0", Kind: Read, Key: "k", Start: 20 * ms, End: 25 * ms, Outcome: Ok},
		{Client: 0, Agent: "a0", Kind: Write, Key: "k", Start: 30 * ms, End: 40 * ms, Outcome: Ok, Token: 5, Value: "c0-1"},
		{Client: 0, Agent: "a0", Kind: KeepAlive, Key: "k", Start: 41 * ms, End: 45 * ms, Outcome: Ok, Token: 5, DeadlineMS: 2000},
		{Client: 0, Agent: "a0", Kind: Release, Key: "k", Start: 50 * ms, End: 55 * ms, Outcome: Ok, Token: 5},
		{Client: 1, Agent: "a1", Kind: Acquire, Key: "k", Start: 52 * ms, End: 70 * ms, Outcome: Ok, Token: 7, DeadlineMS: 2000},
		{Client: 1, Agent: "a1", Kind: Read, Key: "k", Start: 80 * ms, End: 85 * ms, Outcome: Ok, Value: "c0-1", Token: 5},
		{Client: 1, Agent: "a1", Kind: Write, Key: "k", Start: 90 * ms, End: 100 * ms, Outcome: Ok, Token: 7, Value: "c1-1"},
		{Client: 0, Agent: "a0", Kind: Write, Key: "k", Start: 110 * ms, End: 120 * ms, Outcome: Fail, Stale: true, Zombie: true, Token: 5, Value: "c0-z"},
		{Client: 1, Agent: "a1", Kind: Release, Key: "k", Start: 130 * ms, End: 135 * ms, Outcome: Unknown, Token: 7},
		{Client: 2, Agent: "a2", Kind: Acquire, Key: "k", Start: 140 * ms, End: 210 * ms, Outcome: Ok, Token: 9, DeadlineMS: 2000},
		{Client: 2, Agent: "a2", Kind: Write, Key: "k", Start: 220 * ms, End: 5000 * ms, Outcome: Unknown, Token: 9, Value: "c2-1"},
		{Client: 3, Agent: "a0", Kind: Acquire, Key: "j", Start: 0, End: 10 * ms, Outcome: Ok, Token: 1, DeadlineMS: 2000},
		{Client: 3, Agent: "a0", Kind: Write, Key: "j", Start: 20 * ms, End: 30 * ms, Outcome: Ok, Token: 1, Value: "c3-1"},
		{Client: 9, Kind: Read, Key: "k", Start: 6000 * ms, End: 6010 * ms, Outcome: Ok, Value: "c1-1", Token: 7, Final: true},
		{Client: 9, Kind: Read, Key: "j", Start: 6000 * ms, End: 6010 * ms, Outcome: Ok, Value: "c3-1", Token: 1, Final: true},
	}}
}

// op returns a pointer to the first op of h matching client, kind and key.
func op(t *testing.T, h *History, client int, kind Kind, value string) *Op {
	t.Helper()
	for i := range h.Ops {
		o := &h.Ops[i]
		if o.Client == client && o.Kind == kind && (value == "" || o.Value == value) {
			return o
		}
	}
	t.Fatalf("no op client %d kind %v value %q", client, kind, value)
	return nil
}

func checks(r *Report) string {
	var names []string
	for _, v := range r.Violations {
		names = append(names, v.Check)
	}
	return strings.Join(names, ",")
}

func TestGoodHistoryPasses(t *testing.T) {
	r := Run(goodHistory(), 10*time.Second)
	if !r.OK() || r.Linearizability != porcupine.Ok {
		t.Fatalf("violations %v (linearizability %v)", r.Violations, r.Linearizability)
	}
	if len(r.Tenures) != 4 {
		t.Fatalf("tenures %v, want 4", r.Tenures)
	}
}

// The good history's final read shows the unknown write did not land; this
// one shows it did. Both are allowed.
func TestUnknownWriteMayHaveLanded(t *testing.T) {
	h := goodHistory()
	f := op(t, h, 9, Read, "c1-1")
	f.Value, f.Token = "c2-1", 9
	if r := Run(h, 10*time.Second); !r.OK() {
		t.Fatal(r.Violations)
	}
}

// Each mutation breaks one guarantee; the named checks must report it.
func TestViolationsDetected(t *testing.T) {
	cases := []struct {
		desc   string
		mutate func(t *testing.T, h *History)
		want   string // the checks that must fire, comma-separated, sorted
	}{
		{"stale write acknowledged", func(t *testing.T, h *History) {
			z := op(t, h, 0, Write, "c0-z")
			z.Outcome, z.Stale = Ok, false
			f := op(t, h, 9, Read, "c1-1")
			f.Value, f.Token = "c0-z", 5
		}, "linearizability,stale-write"},
		{"fresh write refused", func(t *testing.T, h *History) {
			w := op(t, h, 1, Write, "c1-1")
			w.Outcome, w.Stale = Fail, true
			op(t, h, 9, Read, "c1-1").Value = "c0-1"
			op(t, h, 9, Read, "c0-1").Token = 5
		}, "linearizability"},
		{"overlapping tenures", func(t *testing.T, h *History) {
			a := op(t, h, 1, Acquire, "")
			a.Start, a.End = 42*ms, 44*ms
		}, "overlap"},
		{"token went down", func(t *testing.T, h *History) {
			op(t, h, 2, Acquire, "").Token = 6
			op(t, h, 2, Write, "c2-1").Token = 6
			w := op(t, h, 2, Write, "c2-1")
			w.Outcome, w.Stale, w.End = Fail, true, 230*ms
		}, "tokens"},
		{"same token through another agent", func(t *testing.T, h *History) {
			op(t, h, 2, Acquire, "").Token = 7
			op(t, h, 2, Write, "c2-1").Token = 7
		}, "tokens"},
		{"acknowledged write lost", func(t *testing.T, h *History) {
			f := op(t, h, 9, Read, "c1-1")
			f.Value, f.Token = "c0-1", 5
		}, "linearizability,lost"},
		{"final read missing", func(t *testing.T, h *History) {
			op(t, h, 9, Read, "c3-1").Kind = Release
		}, "lost"},
		{"read a value never written", func(t *testing.T, h *History) {
			op(t, h, 1, Read, "c0-1").Value = "bogus"
		}, "linearizability"},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			h := goodHistory()
			tc.mutate(t, h)
			r := Run(h, 10*time.Second)
			if got := checks(r); got != tc.want {
				t.Fatalf("checks fired %q, want %q: %v", got, tc.want, r.Violations)
			}
		})
	}
}

// A keepalive sent after the client's own deadline (the grant arrived after
// a long wait) re-stretches the same grant with the same token: allowed.
func TestEqualTokenSameGrant(t *testing.T) {
	h := &History{Ops: []Op{
		{Client: 0, Agent: "a0", Kind: Acquire, Key: "k", Start: 0, End: 10 * ms, Outcome: Ok, Token: 5, DeadlineMS: 100},
		{Client: 0, Agent: "a0", Kind: KeepAlive, Key: "k", Start: 200 * ms, End: 210 * ms, Outcome: Ok, Token: 5, DeadlineMS: 100},
	}}
	r := Run(h, time.Second)
	if !r.OK() || len(r.Tenures) != 2 || r.Tenures[0].Acquire != r.Tenures[1].Acquire {
		t.Fatalf("%v %v", r.Violations, r.Tenures)
	}
}

// An agent never answers a new acquire with a tenure it already holds: the
// same token from a second acquire, even of the same client through the
// same agent, is a reused token.
func TestEqualTokenNewAcquire(t *testing.T) {
	h := &History{Ops: []Op{
		{Client: 0, Agent: "a0", Kind: Acquire, Key: "k", Start: 0, End: 10 * ms, Outcome: Ok, Token: 5, DeadlineMS: 100},
		{Client: 0, Agent: "a0", Kind: Acquire, Key: "k", Start: 200 * ms, End: 210 * ms, Outcome: Ok, Token: 5, DeadlineMS: 100},
	}}
	r := Run(h, time.Second)
	if got := checks(r); got != "tokens" || len(r.Tenures) != 2 {
		t.Fatalf("checks fired %q, want \"tokens\": %v %v", got, r.Violations, r.Tenures)
	}
}

// Issue 12 item 7(a): a zombie write of a tenure whose token the agent
// handed out again overwrites the next tenure's write. The register is
// linearizable (the fence admits an equal token) and no tenures overlap,
// so only the token check can see it; it must, although both grants came
// through the same agent.
func TestZombieWithReusedTokenFails(t *testing.T) {
	h := &History{Seed: 1, Cut: 1000 * ms, Ops: []Op{
		{Client: 0, Agent: "a0", Kind: Acquire, Key: "k", Start: 0, End: 10 * ms, Outcome: Ok, Token: 5, DeadlineMS: 100},
		{Client: 0, Agent: "a0", Kind: Write, Key: "k", Start: 20 * ms, End: 30 * ms, Outcome: Ok, Token: 5, Value: "c0-1"},
		{Client: 5, Agent: "a0", Kind: Acquire, Key: "k", Start: 150 * ms, End: 160 * ms, Outcome: Ok, Token: 5, DeadlineMS: 100},
		{Client: 5, Agent: "a0", Kind: Write, Key: "k", Start: 170 * ms, End: 180 * ms, Outcome: Ok, Token: 5, Value: "c5-1"},
		{Client: 5, Agent: "a0", Kind: Release, Key: "k", Start: 190 * ms, End: 200 * ms, Outcome: Ok, Token: 5},
		{Client: 0, Agent: "a0", Kind: Write, Key: "k", Start: 300 * ms, End: 310 * ms, Outcome: Ok, Token: 5, Value: "c0-2z", Zombie: true},
		{Client: 9, Kind: Read, Key: "k", Start: 2000 * ms, End: 2010 * ms, Outcome: Ok, Value: "c0-2z", Token: 5, Final: true},
	}}
	r := Run(h, 10*time.Second)
	if r.Linearizability != porcupine.Ok {
		t.Fatalf("linearizability %v: the history was meant to be linearizable", r.Linearizability)
	}
	if got := checks(r); got != "tokens" {
		t.Fatalf("checks fired %q, want \"tokens\": %v", got, r.Violations)
	}
}

// A tenure ends at the client's deadline, computed from when it sent the
// acquire or the last keepalive sent in time; a keepalive sent after that
// deadline starts a new stretch when its answer arrives; a grant that
// arrives after its own deadline is no tenure.
func TestTenureBounds(t *testing.T) {
	h := &History{Ops: []Op{
		{Client: 0, Kind: Acquire, Key: "k", Start: 0, End: 10 * ms, Outcome: Ok, Token: 5, DeadlineMS: 100},
		{Client: 0, Kind: KeepAlive, Key: "k", Start: 50 * ms, End: 60 * ms, Outcome: Ok, Token: 5, DeadlineMS: 100},
		{Client: 0, Kind: KeepAlive, Key: "k", Start: 170 * ms, End: 175 * ms, Outcome: Ok, Token: 5, DeadlineMS: 100},
		{Client: 1, Kind: Acquire, Key: "k", Start: 0, End: 150 * ms, Outcome: Ok, Token: 6, DeadlineMS: 100},
	}}
	ts := h.Tenures()
	if len(ts) != 2 || ts[0].Client != 0 || ts[0].Start != 10*ms || ts[0].End != 150*ms ||
		ts[1].Client != 0 || ts[1].Start != 175*ms || ts[1].End != 270*ms {
		t.Fatalf("tenures %v: want client 0's [10ms, 150ms] and [175ms, 270ms] only", ts)
	}
}

func TestArtifactsAndJSON(t *testing.T) {
	h := goodHistory()
	h.Faults = []Fault{{Kind: "partition", Detail: "a0 | a1 a2", Start: 0, End: 100 * ms}}
	z := op(t, h, 0, Write, "c0-z")
	z.Outcome, z.Stale = Ok, false
	r := Run(h, 10*time.Second)
	dir := t.TempDir()
	if err := r.WriteArtifacts(dir, h); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"history.json", "violations.txt", "linearizability.html"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	back, err := ReadJSON(filepath.Join(dir, "history.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Ops) != len(h.Ops) || back.Ops[0] != h.Ops[0] || back.Ops[8] != h.Ops[8] {
		t.Fatalf("round trip changed the history")
	}
	if got := checks(Run(back, 10*time.Second)); got != checks(r) {
		t.Fatalf("replayed history: %q, original %q", got, checks(r))
	}
}

package node

import (
	"errors"
	"github.com/tenure-dev/tenure/protocol"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// R9, R12: tokens keep rising across restarts of every voter, after a
// clean Leave (state restored, no era bump, no quarantine) and after a
// crash (era bumped, quarantine).
func TestRestartTokensRise(t *testing.T) {
	voters := []string{"a", "b", "c"}
	c := newCluster(t, voters, nil, func(cfg *Config) {
		cfg.MaxTTL = time.Second // the quarantine after a crash is about this
		cfg.DefaultTTL = 500 * time.Millisecond
	})
	take := func(who string) uint64 {
		t.Helper()
		l := mustAcquire(t, c.nodes[who], "epoch")
		if err := l.Release(ctx(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		return l.Token()
	}
	t1 := take("a")
	era1 := c.nodes["a"].Stats().Era

	// Clean: Leave writes the state, the restart consumes it.
	for _, v := range voters {
		if err := c.nodes[v].Leave(ctx(t, 5*time.Second)); err != nil {
			t.Fatalf("leave %s: %v", v, err)
		}
		if _, err := os.Stat(filepath.Join(c.dirs[v], stateFile)); err != nil {
			t.Fatalf("%s wrote no state at Leave: %v", v, err)
		}
		delete(c.nodes, v)
	}
	c.seed = ""
	for _, v := range voters {
		c.start(v)
		// R9: consumed before the node answers anything.
		if _, err := os.Stat(filepath.Join(c.dirs[v], stateFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s: state not consumed at start: %v", v, err)
		}
	}
	for _, v := range voters {
		// R18: the peers confirm the clean start is the newest; then the
		// voter serves without a quarantine and without an era bump.
		n := c.nodes[v]
		waitServing(t, n)
		if st := n.Stats(); st.StaleStart || st.Quarantined || st.Boot != 2 {
			t.Fatalf("%s after a clean restart: %+v", v, st)
		}
	}
	t2 := take("b")
	if t2 <= t1 {
		t.Fatalf("token %d after clean restart not above %d", t2, t1)
	}
	if era2 := c.nodes["b"].Stats().Era; era2 != era1 {
		t.Fatalf("clean restart moved the era from %d to %d", era1, era2)
	}

	// Crash: no state; each voter bumps its era and sits out a quarantine.
	for _, v := range voters {
		c.stop(v)
	}
	c.seed = ""
	for _, v := range voters {
		n := c.start(v)
		// The quarantine lasts about MaxTTL (1s); Stats reports it.
		if st := n.Stats(); !st.Quarantined || st.QuarantineLeft <= 0 || st.Boot != 3 {
			t.Fatalf("%s: Stats does not report the quarantine: %+v", v, st)
		}
	}
	t3 := take("c")
	if t3 <= t2 {
		t.Fatalf("token %d after crash restart not above %d", t3, t2)
	}
	if p := c.nodes["c"].Stats().Protocol; p.Acquired < 1 || p.Rounds < 1 || p.Sent[protocol.TypePropose] == 0 {
		t.Fatalf("protocol counters of c after an acquire: %+v", p)
	}
	if era3 := c.nodes["c"].Stats().Era; era3 <= era1 {
		t.Fatalf("crash restart kept era %d (was %d)", era3, era1)
	}
	t.Logf("tokens %x %x %x", t1, t2, t3)
}

// A clean restart consumes the state even if the node then crashes: the
// next start is a crash, never mistaken for a clean one (R9).
func TestStateConsumedOnce(t *testing.T) {
	dir := t.TempDir()
	s, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	if err := s.writeEra(7); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("not msgpack"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, bad, err := s.takeState()
	if err != nil || st != nil || bad == nil {
		t.Fatalf("corrupt state: st %v bad %v err %v", st, bad, err)
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("corrupt state left in place: %v", err)
	}
	if e, ok, err := s.readEra(); err != nil || !ok || e != 7 {
		t.Fatalf("era %d %v %v", e, ok, err)
	}
	if err := os.WriteFile(filepath.Join(dir, eraFile), []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.readEra(); !errors.Is(err, ErrStorage) {
		t.Fatalf("corrupt era file: %v, want ErrStorage", err)
	}
}

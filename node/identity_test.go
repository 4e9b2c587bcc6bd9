package node

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// R17: a node whose voter list (or cluster ID) differs from the cluster's
// refuses to run when it joins, naming both lists; the cluster keeps
// granting.
func TestIdentityMismatchRefusedAtJoin(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x"}, nil)
	for _, tc := range []struct {
		name, want string
		edit       func(*Config)
	}{
		{"d", "voters a,b,c,d,e", func(cfg *Config) { cfg.Voters = []string{"a", "b", "c", "d", "e"} }},
		{"o", `cluster "other"`, func(cfg *Config) { cfg.ClusterID = "other" }},
	} {
		cfg := c.config(tc.name)
		cfg.DataDir = t.TempDir()
		tc.edit(&cfg)
		n, err := New(cfg)
		if err == nil {
			_ = n.Shutdown()
			t.Fatalf("%s joined a cluster of another configuration", tc.name)
		}
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "voters a,b,c") {
			t.Fatalf("%s: %v, want ErrConfig naming both sides (%s)", tc.name, err, tc.want)
		}
		grantCycle(t, c.nodes["x"], "job")
	}
}

// R17: a member of another configuration that is already running (it
// started cut off from the cluster, so its join saw no one) is reported:
// once per member, both lists named; each side refuses the other's
// datagrams, so the odd node wins nothing while the cluster keeps
// granting.
func TestIdentityMismatchReported(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x"}, nil)
	for _, tc := range []struct {
		name, want string
		edit       func(*Config)
	}{
		{"d", "member_voters=a,b,c", func(cfg *Config) { cfg.Voters = []string{"a", "b", "c", "d", "e"} }},
		{"o", "member_cluster=tenure", func(cfg *Config) { cfg.ClusterID = "other" }},
	} {
		var log logBuffer
		cfg := c.config(tc.name)
		cfg.DataDir = t.TempDir()
		cfg.Logger = log.logger()
		cfg.Join = nil // started cut off: its own join saw nobody
		tc.edit(&cfg)
		n := mustNew(t, cfg)
		if _, err := n.ml.Join([]string{c.nodes["a"].Addr()}); err != nil {
			t.Fatal(err)
		}
		// Join pulled every member synchronously: the mismatch is known
		// when it returns (a, b, c and x run the cluster's identity).
		if st := n.Stats(); st.MismatchedMembers != 4 {
			t.Fatalf("%s: MismatchedMembers %d after joining, want 4", tc.name, st.MismatchedMembers)
		}
		out := log.String()
		if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, tc.want) || !strings.Contains(out, "member=a ") {
			t.Fatalf("%s: start log does not name the other side (%s):\n%s", tc.name, tc.want, out)
		}
		// The odd node cannot win: the voters refuse its datagrams.
		if _, err := n.TryAcquire(ctx(t, 10*time.Second), "job"); err == nil {
			t.Fatalf("%s acquired a lease across a configuration mismatch", tc.name)
		}
		a := c.nodes["a"]
		waitUntil(t, "a to see and refuse "+tc.name, func() bool {
			st := a.Stats()
			return st.MismatchedMembers >= 1 && st.MismatchedDatagrams > 0
		})
		for _, m := range a.Members() {
			if m.Name == tc.name && !m.Mismatch {
				t.Fatalf("a's member list does not flag %s: %+v", tc.name, m)
			}
			if m.Name == "b" && m.Mismatch {
				t.Fatalf("a's member list flags b: %+v", m)
			}
		}
		// The cluster keeps granting, to its own members.
		grantCycle(t, c.nodes["x"], "job")
		// Once per member, however often gossip repeats it.
		if k := strings.Count(log.String(), "member=a "); k != 1 {
			t.Fatalf("%s logged the mismatch of a %d times:\n%s", tc.name, k, log.String())
		}
		if err := n.Leave(ctx(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		// A member that is gone no longer counts.
		waitUntil(t, "a to forget "+tc.name, func() bool { return a.Stats().MismatchedMembers == 0 })
	}
}

// A cluster ID that would not read back from a flag or the identity file
// is refused.
func TestClusterIDRefused(t *testing.T) {
	for _, id := range []string{"two words", "new\nline", strings.Repeat("x", 65), "ü"} {
		_, err := New(Config{Name: "a", BindAddr: "127.0.0.1", Voters: []string{"a"}, ClusterID: id})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "ClusterID") {
			t.Errorf("ClusterID %q: %v, want ErrConfig naming ClusterID", id, err)
		}
	}
}

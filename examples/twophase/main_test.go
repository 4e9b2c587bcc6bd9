package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/fence"
)

// The example end to end, on a real loopback cluster, with c1 crashed at
// each step of tx1 in turn: in every case every participant ends with the
// same outcome for each transaction, tx1 commits exactly when c1 crashed
// after the commit point, c2's lock tokens are higher than c1's, and c1's
// message that was in flight is refused as stale when it arrives.
func TestCoordinatorCrashAtEachStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	results, err := run(ctx, &out, 500*time.Millisecond, steps)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(results) != len(steps) {
		t.Fatalf("%d results for %d crash points", len(results), len(steps))
	}
	for i, r := range results {
		if r.crash != steps[i] {
			t.Fatalf("result %d is for %v, want %v", i, r.crash, steps[i])
		}
		want := []string{"tx2"}
		if r.crash >= afterDecision {
			want = []string{"tx1", "tx2"}
		}
		for _, p := range []string{"p1", "p2", "p3"} {
			if !slices.Equal(r.committed[p], want) {
				t.Errorf("crash %v: %s committed %v, want %v (all: %v)", r.crash, p, r.committed[p], want, r.committed)
			}
		}
		if !r.tokensRose {
			t.Errorf("crash %v: c2's tokens not above c1's", r.crash)
		}
		if !errors.Is(r.lateErr, fence.ErrStale) {
			t.Errorf("crash %v: late %q answered %v, want a stale refusal", r.crash, r.late, r.lateErr)
		}
	}
}

func TestParseCrash(t *testing.T) {
	for st, name := range stepNames {
		got, err := parseCrash(name)
		if err != nil || !slices.Equal(got, []step{st}) {
			t.Errorf("parseCrash(%q) = %v, %v; want [%v]", name, got, err, st)
		}
	}
	if got, err := parseCrash("all"); err != nil || !slices.Equal(got, steps) {
		t.Errorf("parseCrash(all) = %v, %v", got, err)
	}
	if _, err := parseCrash("later"); err == nil {
		t.Error("parseCrash(later) succeeded")
	}
}

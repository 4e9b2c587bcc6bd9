package protocol

import (
	"testing"
	"time"
)

func TestSmokeAcquireRenewRelease(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x")
	h.acquire("x", "L", true)
	h.settle(5*time.Millisecond, nil)
	e := h.lastEvent("x")
	if e.Kind != EventAcquired {
		t.Fatalf("x did not acquire:\n%s", h.dump())
	}
	h.settle(10*time.Second, nil)
	if got := h.holders("L"); len(got) != 1 || got[0] != "x" {
		t.Fatalf("holders after 10s = %v\n%s", got, h.dump())
	}
	h.acquire("a", "L", true)
	h.settle(100*time.Millisecond, nil)
	if got := h.holders("L"); len(got) != 1 || got[0] != "x" {
		t.Fatalf("holders = %v", got)
	}
	tok, _, _ := h.nodes["x"].m.Holding("L")
	if err := h.nodes["x"].m.Release(h.local(h.nodes["x"]), "L", tok); err != nil {
		t.Fatal(err)
	}
	h.collect(h.nodes["x"])
	h.settle(50*time.Millisecond, nil)
	if got := h.holders("L"); len(got) != 1 || got[0] != "a" {
		t.Fatalf("holders after release = %v\n%s", got, h.dump())
	}
	if ta, _, _ := h.nodes["a"].m.Holding("L"); ta <= tok {
		t.Fatalf("token did not rise: %d after %d", ta, tok)
	}
	t.Log(h.dump())
}

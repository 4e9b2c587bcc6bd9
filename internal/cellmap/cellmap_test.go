package cellmap

import (
	"errors"
	"fmt"
	"testing"
)

func cellsN(k int) []Cell {
	cs := make([]Cell, k)
	for i := range cs {
		cs[i] = Cell{ID: fmt.Sprintf("cell%d", i+1), Cluster: fmt.Sprintf("prod-%d", i+1),
			Voters: []string{fmt.Sprintf("v%d-a", i+1), fmt.Sprintf("v%d-b", i+1), fmt.Sprintf("v%d-c", i+1)}}
	}
	return cs
}

func mustMap(t *testing.T, version uint64, cs []Cell) *Map {
	t.Helper()
	m, err := New(version, cs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func names(n int) []string {
	ns := make([]string, n)
	for i := range ns {
		ns[i] = fmt.Sprintf("task-%d", i)
	}
	return ns
}

// The score is the documented function, so a client in another language
// finds the same cell. Expected values from the shell:
// printf 'cell1\0L1' | sha256sum | cut -c1-16
func TestScoreIsTheDocumentedHash(t *testing.T) {
	for _, v := range []struct {
		id, name string
		want     uint64
	}{
		{"cell1", "L1", 0x6185342a8e7027ca},
		{"cell2", "L1", 0xa78dcb472ea06b57},
		{"a", "task-42", 0x1ebab42dd544ebf2},
	} {
		if got := Score(v.id, v.name); got != v.want {
			t.Errorf("Score(%q, %q) = %#x, want %#x", v.id, v.name, got, v.want)
		}
	}
	m := mustMap(t, 1, []Cell{
		{ID: "cell1", Cluster: "x", Voters: []string{"a"}},
		{ID: "cell2", Cluster: "y", Voters: []string{"b"}},
	})
	if got := m.Find("L1"); got != 1 {
		t.Errorf("Find(L1) = %d, want 1 (cell2 scores higher)", got)
	}
}

// Balanced: over 10,000 names each of k cells gets n/k within 10%; the
// binomial standard deviation is under 1% of n/k for these k, so a fair
// hash passes by a wide margin and a skewed one fails.
func TestBalancedOver10kNames(t *testing.T) {
	ns := names(10_000)
	for _, k := range []int{2, 3, 5, 8} {
		m := mustMap(t, 1, cellsN(k))
		count := make([]int, k)
		for _, n := range ns {
			count[m.Find(n)]++
		}
		want := len(ns) / k
		for i, c := range count {
			if c < want*9/10 || c > want*11/10 {
				t.Errorf("%d cells: cell %d has %d names, want %d ± 10%% (all: %v)", k, i, c, want, count)
			}
		}
	}
}

// Deterministic: two maps built alike, in separate calls, agree on every
// name, and the cell of a name depends on the cells' IDs, not on their
// order in the list.
func TestDeterministicAndOrderFree(t *testing.T) {
	a, b := mustMap(t, 1, cellsN(4)), mustMap(t, 2, cellsN(4))
	rev := cellsN(4)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	r := mustMap(t, 3, rev)
	for _, n := range names(10_000) {
		ia, ib := a.Find(n), b.Find(n)
		if ia != ib {
			t.Fatalf("%s: cell %d in one map, %d in an equal one", n, ia, ib)
		}
		if a.At(ia).ID != r.At(r.Find(n)).ID {
			t.Fatalf("%s: cell %s, but %s with the cells listed in reverse", n, a.At(ia).ID, r.At(r.Find(n)).ID)
		}
	}
}

// Stable: adding a cell moves names only into the new cell (about 1/(k+1)
// of them); removing one moves only the names it had. Nothing else moves,
// so a change of the map retires leases in as few names as possible.
func TestStableUnderAddAndRemove(t *testing.T) {
	ns := names(10_000)
	old := mustMap(t, 1, cellsN(4))
	grown := mustMap(t, 2, cellsN(5))
	moved := 0
	for _, n := range ns {
		from, to := old.At(old.Find(n)).ID, grown.At(grown.Find(n)).ID
		if from == to {
			continue
		}
		moved++
		if to != "cell5" {
			t.Fatalf("%s moved from %s to %s, not to the new cell", n, from, to)
		}
	}
	if want := len(ns) / 5; moved < want*9/10 || moved > want*11/10 {
		t.Errorf("adding a fifth cell moved %d names, want %d ± 10%%", moved, want)
	}
	shrunk := mustMap(t, 3, cellsN(4)[1:]) // cell1 gone
	for _, n := range ns {
		from, to := old.At(old.Find(n)).ID, shrunk.At(shrunk.Find(n)).ID
		if from != "cell1" && from != to {
			t.Fatalf("%s moved from %s to %s though its cell stayed", n, from, to)
		}
	}
}

func TestNewRefusesBadMaps(t *testing.T) {
	good := cellsN(2)
	for name, tc := range map[string]struct {
		version uint64
		cells   func() []Cell
	}{
		"version zero":   {0, func() []Cell { return cellsN(2) }},
		"no cells":       {1, func() []Cell { return nil }},
		"empty ID":       {1, func() []Cell { c := cellsN(2); c[1].ID = ""; return c }},
		"NUL in ID":      {1, func() []Cell { c := cellsN(2); c[1].ID = "a\x00b"; return c }},
		"duplicate ID":   {1, func() []Cell { c := cellsN(2); c[1].ID = c[0].ID; return c }},
		"empty cluster":  {1, func() []Cell { c := cellsN(2); c[0].Cluster = ""; return c }},
		"shared cluster": {1, func() []Cell { c := cellsN(2); c[1].Cluster = c[0].Cluster; return c }},
		"no voters":      {1, func() []Cell { c := cellsN(2); c[1].Voters = nil; return c }},
		"empty voter":    {1, func() []Cell { c := cellsN(2); c[1].Voters = []string{""}; return c }},
		"shared voter":   {1, func() []Cell { c := cellsN(2); c[1].Voters = []string{"x", c[0].Voters[2]}; return c }},
		"too many cells": {1, func() []Cell { return cellsN(MaxCells + 1) }},
	} {
		m, err := New(tc.version, tc.cells())
		if !errors.Is(err, ErrMap) || m != nil {
			t.Errorf("%s: New = %v, %v; want ErrMap and no map", name, m, err)
		}
	}
	m := mustMap(t, 7, good)
	good[0].Voters[0] = "changed" // the map keeps its own copy
	if got := m.At(0).Voters[0]; got != "v1-a" || m.Version() != 7 || m.Len() != 2 || m.Index("cell2") != 1 || m.Index("none") != -1 {
		t.Errorf("map accessors: voter %q, version %d, len %d", got, m.Version(), m.Len())
	}
}

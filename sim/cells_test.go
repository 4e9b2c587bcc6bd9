package sim

import (
	"errors"
	"testing"
	"time"
)

func cellsOpts(seed uint64) Options {
	o := DefaultOptions()
	o.Seed, o.Voters, o.Clients, o.Leases, o.Duration = seed, 3, 2, 16, time.Minute
	return o
}

// Two cells, one lost a third into the run: every checker stays clean in
// both, the lost cell grants nothing once its in-flight answers are spent,
// and the other cell goes on granting.
func TestCellsLostCellOthersKeepGranting(t *testing.T) {
	o := cellsOpts(3)
	rep, err := RunCells(o, Cells{Count: 2, Lose: 1, LoseAt: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Violations) > 0 {
		t.Fatalf("violation: %+v", rep.Violations[0])
	}
	if len(rep.Cells) != 2 {
		t.Fatalf("%d cells reported, want 2", len(rep.Cells))
	}
	lost, other := rep.Cells[0], rep.Cells[1]
	if !lost.Lost || other.Lost {
		t.Fatalf("lost flags %v, %v: want cell1 lost only", lost.Lost, other.Lost)
	}
	for _, c := range rep.Cells {
		ch := c.Summary.Checks
		if ch.Holders == 0 || ch.Tokens == 0 || ch.Writes == 0 {
			t.Errorf("%s: checkers judged nothing: %+v", c.ID, ch)
		}
		if c.GrantsAtLoss == 0 {
			t.Errorf("%s: no grant before the loss", c.ID)
		}
	}
	if lost.LateGrants != 0 {
		t.Errorf("lost cell granted %d times more than %v after all its voters crashed", lost.LateGrants, CellsSettle(&o))
	}
	if other.GrantsAfterLoss < 10 {
		t.Errorf("other cell granted %d times after the loss, want at least 10", other.GrantsAfterLoss)
	}
	if other.Summary.Checks.Vacancies == 0 {
		t.Errorf("other cell: liveness (d) judged no vacancy in its quiet phase")
	}
	if names := lost.Names + other.Names; names != o.Leases {
		t.Errorf("cells hold %d names, want all %d", names, o.Leases)
	}
}

// The names a cell runs are those the cell map gives it, and the cell's
// nodes run with its cluster identity (R17).
func TestCellsRouteByTheMap(t *testing.T) {
	o := cellsOpts(1)
	m, err := CellMap(3, o.Voters)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunCells(o, Cells{Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int, 3)
	for i := range o.Leases {
		want[m.Find(o.leaseName(i))]++
	}
	for k, c := range rep.Cells {
		if c.Names != want[k] || c.ID != m.At(k).ID || c.Cluster != m.At(k).Cluster {
			t.Errorf("cell %d: %s/%s with %d names, want %s/%s with %d", k, c.ID, c.Cluster, c.Names, m.At(k).ID, m.At(k).Cluster, want[k])
		}
	}
	co := o
	co.Leases = 2
	co.cell = &cellSetup{names: []string{"L7", "L3"}, cluster: "sim-cell2"}
	s, err := New(co, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.leases[0] != "L7" || s.leaseOf("L3") != 1 || s.leaseOf("L1") != -1 {
		t.Errorf("cell's leases %v: want [L7 L3], L3 at 1 and L1 unknown", s.leases)
	}
	for _, n := range s.nodes {
		if n.cfg.Cluster != "sim-cell2" {
			t.Fatalf("%s runs cluster %q, want sim-cell2", n.name, n.cfg.Cluster)
		}
	}
}

// Same seed, same digest; another seed, another; and cells of one run draw
// different schedules.
func TestCellsDeterministic(t *testing.T) {
	run := func(seed uint64) *CellsReport {
		rep, err := RunCells(cellsOpts(seed), Cells{Count: 2, Lose: 2, LoseAt: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	a, b, c := run(5), run(5), run(6)
	if a.TraceDigest != b.TraceDigest || a.Grants != b.Grants {
		t.Errorf("seed 5 twice: digests %s and %s, grants %d and %d", a.TraceDigest, b.TraceDigest, a.Grants, b.Grants)
	}
	if a.TraceDigest == c.TraceDigest {
		t.Errorf("seeds 5 and 6 give one digest %s", a.TraceDigest)
	}
	if a.Cells[0].Summary.TraceDigest == a.Cells[1].Summary.TraceDigest || a.Cells[0].Seed == a.Cells[1].Seed {
		t.Errorf("both cells ran the same schedule (seed %d)", a.Cells[0].Seed)
	}
}

func TestCellsRefuseBadOptions(t *testing.T) {
	o := cellsOpts(1)
	op := o
	op.Operator.Restores = 5
	few := o
	few.Leases = 1
	for name, tc := range map[string]struct {
		o Options
		c Cells
	}{
		"one cell":          {o, Cells{Count: 1}},
		"too many":          {o, Cells{Count: MaxSimCells + 1}},
		"lose unknown":      {o, Cells{Count: 2, Lose: 3, LoseAt: time.Second}},
		"lose-at alone":     {o, Cells{Count: 2, LoseAt: time.Second}},
		"lose-at too late":  {o, Cells{Count: 2, Lose: 1, LoseAt: o.Duration - time.Second}},
		"lose-at zero":      {o, Cells{Count: 2, Lose: 1}},
		"lose and operator": {op, Cells{Count: 2, Lose: 1, LoseAt: time.Second}},
		"a cell with none":  {few, Cells{Count: 2}},
	} {
		if rep, err := RunCells(tc.o, tc.c); !errors.Is(err, ErrOptions) || rep != nil {
			t.Errorf("%s: RunCells = %v, %v; want ErrOptions", name, rep, err)
		}
	}
}

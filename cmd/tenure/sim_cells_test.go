package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tenure-dev/tenure/sim"
)

// TestSimCells: --cells with a lost cell reports every cell, the lost one
// granting nothing late and the others granting after the loss; the text
// report names the lost cell.
func TestSimCells(t *testing.T) {
	args := []string{"--cells", "3", "--nodes", "3", "--leases", "30", "--duration", "40s", "--lose-cell", "2", "--seed", "4"}
	code, out, errs := runSimArgs(append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	var rep sim.CellsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(rep.Cells) != 3 || len(rep.Violations) != 0 {
		t.Fatalf("%d cells, violations %v; want 3 and none", len(rep.Cells), rep.Violations)
	}
	names := 0
	for i, c := range rep.Cells {
		names += c.Names
		switch {
		case c.Lost != (i == 1):
			t.Errorf("%s: lost %v", c.ID, c.Lost)
		case c.Lost && c.LateGrants != 0:
			t.Errorf("%s: lost, yet %d late grants", c.ID, c.LateGrants)
		case !c.Lost && c.GrantsAfterLoss == 0:
			t.Errorf("%s: no grant after cell2's loss", c.ID)
		}
	}
	if names != 30 {
		t.Errorf("cells hold %d names, want 30", names)
	}
	code, text, _ := runSimArgs(args...)
	if code != 0 || !strings.Contains(text, "cell2 lost") || !strings.Contains(text, "OK, no violation") {
		t.Errorf("text report, exit %d:\n%s", code, text)
	}
}

func TestSimCellsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--cells", "1"},
		{"--cells", "2", "--seeds", "3"},
		{"--cells", "2", "--lose-cell", "3"},
		{"--cells", "2", "--lose-cell", "1", "--lose-at", "10m"},
		{"--cells", "2", "--leases", "1"},
	} {
		code, _, errs := runSimArgs(args...)
		if code != 2 || errs == "" {
			t.Errorf("sim %v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/sim"
)

// simCellsOpts are the flags of `tenure sim --cells`: names partitioned
// over several independent voter groups (DESIGN §13).
type simCellsOpts struct {
	count, lose int
	loseAt      time.Duration
}

func (c *simCellsOpts) flags(fs *cmdFlags) {
	fs.IntVar(&c.count, "cells", 0, "cells: partition the lease names over N independent voter groups of --nodes voters each (0: one group)")
	fs.IntVar(&c.lose, "lose-cell", 0, "cells: every voter of cell K crashes at --lose-at, for good (0: none)")
	fs.DurationVar(&c.loseAt, "lose-at", 0, "cells: when --lose-cell's voters crash (default: a third into --duration)")
}

// runSimCells runs one seed over the cells and prints a report per cell.
// Exit 1 on a violation in any cell, or a grant in the lost cell after its
// in-flight answers were spent.
func runSimCells(f *cmdFlags, o *simOpts, opts sim.Options, stdout, stderr io.Writer) int {
	if o.seeds > 1 || o.trace != "" || o.timeline != "" {
		return f.fail(stderr, "--cells runs one seed, without --seeds, --trace or --timeline")
	}
	c := sim.Cells{Count: o.cells.count, Lose: o.cells.lose, LoseAt: o.cells.loseAt}
	if c.Lose > 0 && c.LoseAt == 0 {
		c.LoseAt = opts.Duration / 3
	}
	start := time.Now()
	rep, err := sim.RunCells(opts, c)
	wall := time.Since(start)
	if err != nil {
		return f.fail(stderr, "%v", err)
	}
	for _, v := range rep.Violations {
		v.Replay = simReplay(f, opts.Seed)
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "tenure sim: %v\n", err)
			return exitUsage
		}
	} else {
		printCells(stdout, o, opts, c, rep, wall)
	}
	bad := len(rep.Violations) > 0
	for _, cr := range rep.Cells {
		bad = bad || cr.Lost && cr.LateGrants > 0
	}
	if bad {
		return exitFail
	}
	return exitOK
}

func printCells(w io.Writer, f *simOpts, o sim.Options, c sim.Cells, rep *sim.CellsReport, wall time.Duration) {
	fmt.Fprintf(w, "tenure sim: seed %d; %d cells of %d voters, %d clients each, %d leases placed by the cell map (v%d), %v of faults (%s) + quiet phase, ttl %v\n",
		rep.Seed, c.Count, o.Voters, o.Clients, o.Leases, rep.MapVersion, o.Duration, f.faults, o.TTL)
	if c.Lose > 0 {
		fmt.Fprintf(w, "  cell%d loses all its voters at %v, for good\n", c.Lose, c.LoseAt)
	}
	fmt.Fprintln(w)
	result := "OK, no violation"
	if len(rep.Violations) > 0 {
		result = "VIOLATION (" + string(rep.Violations[0].Kind) + ")"
	}
	fmt.Fprintf(w, "  %-11s %-10s %5s %7s %8s %10s %5s %8s %11s  %s\n", "cell", "cluster", "names", "grants", "at loss", "after loss", "late", "msgs/gr", "max holders", "trace digest")
	for _, cr := range rep.Cells {
		s := cr.Summary
		id := cr.ID
		if cr.Lost {
			id += " lost"
		}
		fmt.Fprintf(w, "  %-11s %-10s %5d %7d %8d %10d %5d %8.1f %11d  %s\n", id, cr.Cluster, cr.Names, s.Grants,
			cr.GrantsAtLoss, cr.GrantsAfterLoss, cr.LateGrants, s.MessagesPerGrant, s.MaxConcurrentHolders, s.TraceDigest[:16])
	}
	fmt.Fprintf(w, "\n  %-18s %s\n", "result", result)
	fmt.Fprintf(w, "  %-18s %d\n", "grants", rep.Grants)
	fmt.Fprintf(w, "  %-18s %.2fs wall\n", "time", wall.Seconds())
	fmt.Fprintf(w, "  %-18s %s\n", "trace digest", rep.TraceDigest)
	for _, v := range rep.Violations {
		fmt.Fprintf(w, "\nVIOLATION %s: lease %s, nodes %s, true time %s, seed %d\n  %s\n\nReplay: %s\n",
			v.Kind, v.Lease, strings.Join(v.Nodes, ","), v.At, v.Seed, v.Detail, v.Replay)
	}
}

package sim

// Cells: names partitioned over several independent voter groups (DESIGN
// §13). A cell is the same protocol with a voter list and a cluster
// identity of its own; nothing is shared between cells, so a run of cells
// is one Sim per cell over the names the cell map gives it, and every
// checker runs per cell over that cell's names (one holder per name,
// rising tokens per name, fencing, liveness).
//
// What the composition does not model: a client node that uses two cells
// is one process in a deployment (one clock, one crash ends its tenures in
// both cells), but here each cell draws its own copy of it, with its own
// clock and faults. No state or message crosses cells, so correlated
// faults can only make faults coincide; they add no interleaving a cell
// does not already see.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/tenure-dev/tenure/internal/cellmap"
)

// MaxSimCells bounds Cells.Count.
const MaxSimCells = 16

// Cells configure RunCells.
type Cells struct {
	// Count is the number of cells, 2..MaxSimCells; each has
	// Options.Voters voters of its own and Options.Clients client nodes.
	Count int
	// Lose is the number (1..Count) of a cell whose voters all crash at
	// LoseAt and never come back; 0 loses none.
	Lose int
	// LoseAt is the true instant of the loss, inside the fault phase with
	// room for the settle time after it (CellsSettle).
	LoseAt time.Duration
}

// cellSetup is what one cell's Sim runs with instead of L1..Ln and the
// empty cluster identity.
type cellSetup struct {
	names   []string
	cluster string
}

// leaseName is the name of lease i: L1..Ln, or the cell's i-th name.
func (o *Options) leaseName(i int) string {
	if o.cell != nil {
		return o.cell.names[i]
	}
	return fmt.Sprintf("L%d", i+1)
}

// cellCluster is the cluster identity (R17) the nodes run with: the cell's
// own, or none outside RunCells.
func (o *Options) cellCluster() string {
	if o.cell != nil {
		return o.cell.cluster
	}
	return ""
}

// CellsSettle is how long after a cell's loss a grant in that cell can
// still complete: answers its voters sent before they crashed count only
// before the proposer's attempt deadline (R6), at most D_P < TTL of the
// proposer's clock after it sent the Propose. Twice the TTL covers it.
func CellsSettle(o *Options) time.Duration { return 2 * o.TTL }

func (c *Cells) validate(o *Options) error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrOptions}, a...)...) }
	switch {
	case !o.Workload:
		return bad("cells: the random workload must be on")
	case c.Count < 2 || c.Count > MaxSimCells:
		return bad("cells %d: want 2..%d", c.Count, MaxSimCells)
	case c.Lose < 0 || c.Lose > c.Count:
		return bad("lose-cell %d: want 0 (none) or 1..%d", c.Lose, c.Count)
	case c.Lose == 0 && c.LoseAt != 0:
		return bad("lose-at %v: set only with lose-cell", c.LoseAt)
	case c.Lose > 0 && (c.LoseAt <= 0 || c.LoseAt+CellsSettle(o) >= o.Duration):
		return bad("lose-at %v: want it in (0, duration - %v) = (0, %v)", c.LoseAt, CellsSettle(o), o.Duration-CellsSettle(o))
	case c.Lose > 0 && (o.Operator != Operator{} || o.Reconfig != Reconfig{}):
		return bad("lose-cell: not with operator mistakes or voter changes (both restart voters the loss took)")
	}
	return nil
}

// CellMap is the map RunCells uses for count cells of voters voters each:
// cell k (1-based) has ID "cellK", cluster "sim-cellK" and voters
// "cellK/n1".. (in the cell's own Sim they are n1..; the names here are
// what the map keeps distinct).
func CellMap(count, voters int) (*cellmap.Map, error) {
	cs := make([]cellmap.Cell, count)
	for k := range cs {
		id := fmt.Sprintf("cell%d", k+1)
		cs[k] = cellmap.Cell{ID: id, Cluster: "sim-" + id}
		for i := range voters {
			cs[k].Voters = append(cs[k].Voters, fmt.Sprintf("%s/n%d", id, i+1))
		}
	}
	return cellmap.New(1, cs)
}

// CellReport is one cell's part of a RunCells run.
type CellReport struct {
	// ID and Cluster name the cell; Voters are its voters (n1.. in its Sim).
	ID      string   `json:"id"`
	Cluster string   `json:"cluster"`
	Voters  []string `json:"voters"`
	// Names is how many of the lease names the map gave the cell; Seed the
	// seed its Sim ran with.
	Names int    `json:"names"`
	Seed  uint64 `json:"seed"`
	// Lost: this is the cell whose voters all crashed at LoseAt.
	Lost bool `json:"lost"`
	// GrantsAtLoss counts grants up to the loss, GrantsAfterLoss those after
	// it (0 without a loss). LateGrants counts grants later than the loss
	// plus CellsSettle: in the lost cell it must be 0 (no quorum, no grant).
	GrantsAtLoss    uint64 `json:"grants_at_loss"`
	GrantsAfterLoss uint64 `json:"grants_after_loss"`
	LateGrants      uint64 `json:"late_grants"`
	// Summary is the cell's run. A lost cell's run stops where faults would
	// stop (Options.Duration): the quiet phase would restart its voters,
	// and liveness (checker d) is not owed for names with no quorum.
	Summary *Summary `json:"summary"`
}

// CellsReport is the result of RunCells.
type CellsReport struct {
	// Seed is the run's seed; each cell's Sim runs with a seed drawn from
	// it (CellReport.Seed).
	Seed uint64 `json:"seed"`
	// MapVersion is the version of the cell map.
	MapVersion uint64 `json:"map_version"`
	// Cells are the cells' reports, in map order.
	Cells []*CellReport `json:"cells"`
	// Grants sums the cells' grants.
	Grants uint64 `json:"grants"`
	// Violations are the first violation of each cell that had one.
	Violations []*Violation `json:"violations"`
	// TraceDigest is the sha256 of the cells' trace digests in map order.
	TraceDigest string `json:"trace_digest"`
}

// cellSeed is cell k's seed: a splitmix64 step of seed and k, so cells of
// one run draw unrelated schedules.
func cellSeed(seed uint64, k int) uint64 {
	z := seed + uint64(k+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// RunCells runs opts over c.Count cells: the names L1..L<opts.Leases> are
// placed by the cell map (CellMap, rendezvous hashing), and each cell runs
// its own Sim with opts' voters, clients, workload and faults over its
// names, under its own cluster identity. With c.Lose, every voter of that
// cell crashes at c.LoseAt for good. Wall time is not measured (the
// caller may); everything else follows from opts and c.
func RunCells(opts Options, c Cells) (*CellsReport, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := c.validate(&opts); err != nil {
		return nil, err
	}
	m, err := CellMap(c.Count, opts.Voters)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	names := make([][]string, c.Count)
	for i := range opts.Leases {
		name := fmt.Sprintf("L%d", i+1)
		k := m.Find(name)
		names[k] = append(names[k], name)
	}
	rep := &CellsReport{Seed: opts.Seed, MapVersion: m.Version(), Violations: []*Violation{}}
	dig := sha256.New()
	for k := range c.Count {
		cell := m.At(k)
		o := opts
		o.Seed, o.Leases = cellSeed(opts.Seed, k), len(names[k])
		o.cell = &cellSetup{names: names[k], cluster: cell.Cluster}
		if o.Leases == 0 || o.Slots > o.Leases {
			return nil, fmt.Errorf("%w: cell %s gets %d of the %d lease names (slots %d): give it more names",
				ErrOptions, cell.ID, o.Leases, opts.Leases, o.Slots)
		}
		s, err := New(o, nil)
		if err != nil {
			return nil, err
		}
		cr := &CellReport{ID: cell.ID, Cluster: cell.Cluster, Voters: cell.Voters, Names: o.Leases, Seed: o.Seed, Lost: c.Lose == k+1}
		r := s.runCell(cr, c)
		rep.Cells = append(rep.Cells, cr)
		cr.Summary = summarize(o.Seed, []*Result{r}, 0)
		rep.Grants += r.Grants
		if r.Violation != nil {
			rep.Violations = append(rep.Violations, r.Violation)
		}
		dig.Write([]byte(r.TraceDigest))
	}
	rep.TraceDigest = hex.EncodeToString(dig.Sum(nil))
	return rep, nil
}

// runCell runs one cell's Sim to its end, losing its voters if it is the
// lost cell, and fills in cr's grant counts around the loss.
func (s *Sim) runCell(cr *CellReport, c Cells) *Result {
	if c.Lose == 0 {
		s.runUntil(s.end)
		return s.result(0)
	}
	at, settled := int64(c.LoseAt), int64(c.LoseAt+CellsSettle(&s.opts))
	s.runUntil(at)
	cr.GrantsAtLoss = s.chk.grants
	if cr.Lost {
		s.loseVoters()
	}
	s.runUntil(settled)
	settledGrants := s.chk.grants
	end := s.end
	if cr.Lost {
		end = s.quietAt - 1 // before stopFaults would restart the voters
	}
	s.runUntil(end)
	cr.GrantsAfterLoss = s.chk.grants - cr.GrantsAtLoss
	cr.LateGrants = s.chk.grants - settledGrants
	return s.result(0)
}

// loseVoters crashes every voter of the Sim at once, for good: a crash
// schedules no restart, and a restart already scheduled for a voter that
// was down finds a newer incarnation and is dropped.
func (s *Sim) loseVoters() {
	for _, n := range s.nodes {
		if !n.voter {
			continue
		}
		if n.down {
			n.inc++
			continue
		}
		s.crash(n, 0)
	}
}

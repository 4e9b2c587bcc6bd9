// Package cellmap places lease names in cells: independent voter groups,
// each running the lease protocol with a voter list and a cluster identity
// of its own. A name lives in exactly one cell of a given map, found by
// rendezvous (highest-random-weight) hashing of the name over the cells'
// IDs, so every node that holds the same map finds the same cell without
// asking anyone, and a map that gains or loses a cell moves only the
// names that must move.
//
// The hash is part of the design, not an implementation detail: a client
// in another language must find the same cell. The score of cell c for
// name n is the first 8 bytes, big-endian, of SHA-256(c.ID ‖ 0x00 ‖ n);
// the cell with the highest score wins, the lower index on a tie.
package cellmap

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// ErrMap wraps every refusal of New; the message names the cell and field.
var ErrMap = errors.New("cellmap: invalid map")

// MaxCells bounds the cells of one map: a lookup hashes the name once per
// cell.
const MaxCells = 1024

// Cell is one voter group.
type Cell struct {
	// ID names the cell in the hash. It must never be reused for another
	// group of voters: the names it scores for belong to it.
	ID string
	// Cluster is the cluster identity the cell's protocol runs with (R17):
	// datagrams of another cell are dropped whole.
	Cluster string
	// Voters are the cell's voters; no voter belongs to two cells.
	Voters []string
}

// Map is a versioned list of cells. Nodes that act on a name must agree on
// the cell of that name, so a map is only ever replaced by one with a
// higher Version (DESIGN §13: moving a name between cells).
type Map struct {
	version uint64
	cells   []Cell
}

// New checks and builds a map: version at least 1, 1..MaxCells cells,
// IDs non-empty, without NUL and unique, cluster identities non-empty and
// unique, every cell with at least one voter, and no voter named twice in
// the whole map. The cells are copied.
func New(version uint64, cells []Cell) (*Map, error) {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrMap}, a...)...) }
	if version == 0 {
		return nil, bad("version 0: want 1 or more")
	}
	if len(cells) == 0 || len(cells) > MaxCells {
		return nil, bad("%d cells: want 1..%d", len(cells), MaxCells)
	}
	ids, clusters, voters := map[string]int{}, map[string]int{}, map[string]string{}
	m := &Map{version: version, cells: make([]Cell, len(cells))}
	for i, c := range cells {
		switch {
		case c.ID == "" || strings.IndexByte(c.ID, 0) >= 0:
			return nil, bad("cell %d: ID %q is empty or holds a NUL byte", i, c.ID)
		case c.Cluster == "":
			return nil, bad("cell %s: Cluster is empty", c.ID)
		case len(c.Voters) == 0:
			return nil, bad("cell %s: no voters", c.ID)
		}
		if j, dup := ids[c.ID]; dup {
			return nil, bad("cells %d and %d: ID %q twice", j, i, c.ID)
		}
		if j, dup := clusters[c.Cluster]; dup {
			return nil, bad("cells %s and %s: Cluster %q twice", cells[j].ID, c.ID, c.Cluster)
		}
		ids[c.ID], clusters[c.Cluster] = i, i
		for _, v := range c.Voters {
			if v == "" {
				return nil, bad("cell %s: an empty voter name", c.ID)
			}
			if other, dup := voters[v]; dup {
				return nil, bad("voter %q in cell %s and in cell %s: cells share no voter", v, other, c.ID)
			}
			voters[v] = c.ID
		}
		m.cells[i] = Cell{ID: c.ID, Cluster: c.Cluster, Voters: append([]string(nil), c.Voters...)}
	}
	return m, nil
}

// Version is the map's version.
func (m *Map) Version() uint64 { return m.version }

// Len is the number of cells.
func (m *Map) Len() int { return len(m.cells) }

// At is cell i (a copy).
func (m *Map) At(i int) Cell {
	c := m.cells[i]
	c.Voters = append([]string(nil), c.Voters...)
	return c
}

// Index is the index of the cell with the given ID, -1 if none.
func (m *Map) Index(id string) int {
	for i := range m.cells {
		if m.cells[i].ID == id {
			return i
		}
	}
	return -1
}

// Find is the index of the cell of name: the cell with the highest Score
// for it, the lower index on a tie.
func (m *Map) Find(name string) int {
	best, top := 0, Score(m.cells[0].ID, name)
	for i := 1; i < len(m.cells); i++ {
		if s := Score(m.cells[i].ID, name); s > top {
			best, top = i, s
		}
	}
	return best
}

// Score is the weight of the cell with ID id for name: the first 8 bytes,
// big-endian, of SHA-256(id ‖ 0x00 ‖ name).
func Score(id, name string) uint64 {
	h := sha256.New()
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(name))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

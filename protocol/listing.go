package protocol

import "sort"

// NamedLease is a live lease an acceptor knows, with its name.
type NamedLease struct {
	Name string
	LeaseInfo
}

// LiveLeases lists the leases this node's acceptor knows as live at now,
// sorted by name: for each, what it would answer a Query. It is one
// voter's view, a hint (R14): another voter may know a newer tenure, and
// a voter in quarantine may have forgotten some. A non-voter knows none.
func (m *Machine) LiveLeases(now Time) []NamedLease {
	var out []NamedLease
	for name, s := range m.slots {
		if i := s.info(now); i.Live() {
			i.Value = append([]byte(nil), i.Value...)
			out = append(out, NamedLease{Name: name, LeaseInfo: i})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

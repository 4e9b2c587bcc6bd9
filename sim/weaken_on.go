//go:build mutants

package sim

// SimWeakenings are deliberately broken rules of the simulated edge (the
// agent and its HTTP clients), which the protocol's Weakenings cannot
// reach. This build carries the "mutants" tag: tests may switch them on.
type SimWeakenings struct {
	// AgentReleasesOnStop makes an agent release every tenure its clients
	// hold when it stops, as Agent.Close did before R15 (breaks R15).
	AgentReleasesOnStop bool
	// DeadlineFromArrival makes clients count deadline_ms from the arrival
	// of the answer instead of from their own send time (breaks R16).
	DeadlineFromArrival bool
	// StartDespiteMismatch lets a node start while a live member it
	// reaches runs another voter list, as nodes did before the node layer
	// refused it (drops the start check that backs R17).
	StartDespiteMismatch bool
}

func (w SimWeakenings) releaseOnStop() bool { return w.AgentReleasesOnStop }

func (w SimWeakenings) fromArrival() bool { return w.DeadlineFromArrival }

func (w SimWeakenings) startDespiteMismatch() bool { return w.StartDespiteMismatch }

//go:build !mutants

package sim

// SimWeakenings are deliberately broken rules of the simulated edge (the
// agent and its HTTP clients). In production builds there are none: every
// check below compiles to the correct rule.
type SimWeakenings struct{}

func (SimWeakenings) releaseOnStop() bool { return false }

func (SimWeakenings) fromArrival() bool { return false }

func (SimWeakenings) startDespiteMismatch() bool { return false }

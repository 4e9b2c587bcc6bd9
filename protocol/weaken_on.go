//go:build mutants

package protocol

// Weakenings is the set of weakened rules in force. This build carries the
// "mutants" tag: tests may switch weakenings on with Enable.
type Weakenings struct{ set uint64 }

// Enable switches w on.
func (s *Weakenings) Enable(w Weakening) { s.set |= 1 << uint(w) }

// has reports whether w is switched on.
func (s Weakenings) has(w Weakening) bool { return s.set&(1<<uint(w)) != 0 }

// MutantsBuild reports whether this binary was built with the mutants tag.
const MutantsBuild = true

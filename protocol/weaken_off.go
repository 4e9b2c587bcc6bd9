//go:build !mutants

package protocol

// Weakenings is the set of weakened rules in force. In production builds it
// is empty and cannot be changed: has always reports false, so the compiler
// removes every weakened branch.
type Weakenings struct{}

// has reports whether w is switched on; never, in production builds.
func (Weakenings) has(Weakening) bool { return false }

// MutantsBuild reports whether this binary was built with the mutants tag.
const MutantsBuild = false

package quorum

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxVoters is the largest voter set a Set accepts. Votes are kept as a
// 64-bit set of voter indices; no lease cluster needs more acceptors.
const MaxVoters = 64

// Sentinel errors returned by NewSet.
var (
	// ErrNoVoters means the voter list was empty.
	ErrNoVoters = errors.New("quorum: voter list is empty")
	// ErrTooManyVoters means the list has more than MaxVoters names.
	ErrTooManyVoters = errors.New("quorum: too many voters")
	// ErrDuplicateVoter means a name appears twice in the list.
	ErrDuplicateVoter = errors.New("quorum: duplicate voter name")
	// ErrEmptyVoter means a name in the list is empty or blank.
	ErrEmptyVoter = errors.New("quorum: empty voter name")
)

// Set is an immutable, ordered set of voter names. The zero Set has no voters
// and every question about it answers "no majority". A Set is safe for
// concurrent use because it never changes after NewSet.
type Set struct {
	names []string
	index map[string]int
}

// NewSet builds a Set from the configured voter names. Order does not matter;
// names are kept sorted so that two nodes configured with the same list in a
// different order agree on indices. It refuses an empty list, an empty name,
// a duplicate name and more than MaxVoters names.
func NewSet(names []string) (Set, error) {
	if len(names) == 0 {
		return Set{}, ErrNoVoters
	}
	if len(names) > MaxVoters {
		return Set{}, fmt.Errorf("%w: %d names, at most %d", ErrTooManyVoters, len(names), MaxVoters)
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	idx := make(map[string]int, len(sorted))
	for i, n := range sorted {
		if strings.TrimSpace(n) == "" {
			return Set{}, ErrEmptyVoter
		}
		if _, dup := idx[n]; dup {
			return Set{}, fmt.Errorf("%w: %q", ErrDuplicateVoter, n)
		}
		idx[n] = i
	}
	return Set{names: sorted, index: idx}, nil
}

// Len is the number of voters.
func (s Set) Len() int { return len(s.names) }

// Majority is the number of distinct voters that make a strict majority:
// floor(n/2)+1.
func (s Set) Majority() int { return len(s.names)/2 + 1 }

// Names returns a copy of the voter names, sorted.
func (s Set) Names() []string { return slices.Clone(s.names) }

// Name returns the name of voter i (0 <= i < Len()).
func (s Set) Name(i int) string { return s.names[i] }

// Index returns the position of name in the set, and false if name is not a
// voter. Answers from non-voters must be ignored by the caller.
func (s Set) Index(name string) (int, bool) {
	i, ok := s.index[name]
	return i, ok
}

// Contains reports whether name is a voter.
func (s Set) Contains(name string) bool {
	_, ok := s.index[name]
	return ok
}

package quorum

import (
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func mustSet(t interface{ Fatalf(string, ...any) }, names ...string) Set {
	s, err := NewSet(names)
	if err != nil {
		t.Fatalf("NewSet(%v): %v", names, err)
	}
	return s
}

func TestNewSetRefusesBadLists(t *testing.T) {
	many := make([]string, MaxVoters+1)
	for i := range many {
		many[i] = string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	cases := []struct {
		name string
		in   []string
		want error
	}{
		{"empty", nil, ErrNoVoters},
		{"blank name", []string{"a", " "}, ErrEmptyVoter},
		{"duplicate", []string{"a", "b", "a"}, ErrDuplicateVoter},
		{"too many", many, ErrTooManyVoters},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewSet(c.in); !errors.Is(err, c.want) {
				t.Fatalf("NewSet(%v) = %v, want %v", c.in, err, c.want)
			}
		})
	}
}

func TestMajority(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 7: 4} {
		names := make([]string, n)
		for i := range names {
			names[i] = string(rune('a' + i))
		}
		if got := mustSet(t, names...).Majority(); got != want {
			t.Errorf("Majority of %d = %d, want %d", n, got, want)
		}
	}
}

func TestOrderIndependentIndices(t *testing.T) {
	a, b := mustSet(t, "x", "y", "z"), mustSet(t, "z", "x", "y")
	for _, n := range []string{"x", "y", "z"} {
		ia, _ := a.Index(n)
		ib, _ := b.Index(n)
		if ia != ib {
			t.Fatalf("index of %s differs: %d vs %d", n, ia, ib)
		}
	}
	if _, ok := a.Index("w"); ok {
		t.Fatal("non-voter has an index")
	}
}

// R2: a duplicated yes from one voter never makes a majority.
func TestDuplicateVotesCountOnce(t *testing.T) {
	s := mustSet(t, "a", "b", "c")
	var v Votes
	ia, _ := s.Index("a")
	if !v.Yes(ia) {
		t.Fatal("first vote not new")
	}
	for range 5 {
		if v.Yes(ia) {
			t.Fatal("duplicate vote counted as new")
		}
	}
	if got := v.Result(s); got != Pending {
		t.Fatalf("one voter's repeated yes gave %v, want pending", got)
	}
	ib, _ := s.Index("b")
	v.Yes(ib)
	if got := v.Result(s); got != Won {
		t.Fatalf("two distinct yes of three gave %v, want won", got)
	}
}

// R2: a voter's first answer sticks; a later contrary answer is ignored.
func TestFirstAnswerSticks(t *testing.T) {
	s := mustSet(t, "a", "b", "c")
	var v Votes
	v.No(0)
	if v.Yes(0) {
		t.Fatal("yes after no was recorded")
	}
	v.No(1)
	if got := v.Result(s); got != Lost {
		t.Fatalf("two no of three gave %v, want lost", got)
	}
}

// naiveTally is the obviously right reference: a map from voter name to its
// first answer.
type naiveTally map[string]bool

func (n naiveTally) result(voters []string) Result {
	yes, no := 0, 0
	for _, ans := range n {
		if ans {
			yes++
		} else {
			no++
		}
	}
	maj := len(voters)/2 + 1
	switch {
	case yes >= maj:
		return Won
	case len(voters)-no < maj:
		return Lost
	}
	return Pending
}

// R1, R2: Votes agrees with the naive tally for any sequence of answers,
// duplicates and answers from non-voters included.
func TestVotesMatchesNaiveTally(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 9).Draw(t, "voters")
		voters := make([]string, n)
		for i := range voters {
			voters[i] = string(rune('a' + i))
		}
		s := mustSet(t, voters...)
		var v Votes
		ref := naiveTally{}
		steps := rapid.IntRange(0, 40).Draw(t, "steps")
		for range steps {
			who := string(rune('a' + rapid.IntRange(0, n+2).Draw(t, "who")))
			yes := rapid.Bool().Draw(t, "yes")
			i, ok := s.Index(who)
			if !ok {
				continue // answers from non-voters are ignored by callers
			}
			if yes {
				v.Yes(i)
			} else {
				v.No(i)
			}
			if _, seen := ref[who]; !seen {
				ref[who] = yes
			}
			if got, want := v.Result(s), ref.result(voters); got != want {
				t.Fatalf("after %d answers: Votes=%v naive=%v", len(ref), got, want)
			}
		}
	})
}

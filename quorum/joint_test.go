package quorum

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// A simple rule decides exactly as Votes.Result over its one set.
func TestRuleSimpleMatchesSet(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 9).Draw(t, "voters")
		names := make([]string, n)
		for i := range names {
			names[i] = string(rune('a' + i))
		}
		r, err := NewRule(names, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := mustSet(t, names...)
		var v Votes
		for range rapid.IntRange(0, 20).Draw(t, "steps") {
			i := rapid.IntRange(0, n-1).Draw(t, "who")
			if rapid.Bool().Draw(t, "yes") {
				v.Yes(i)
			} else {
				v.No(i)
			}
			if got, want := r.Result(v), v.Result(s); got != want {
				t.Fatalf("simple rule %v, set %v", got, want)
			}
		}
	})
}

// While joint, a quorum needs a majority of each set: the naive reference
// counts each set's yes and no answers by name.
func TestRuleJointNeedsBothMajorities(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pool := []string{"a", "b", "c", "d", "e", "f", "g"}
		pick := func(label string) []string {
			var out []string
			for _, p := range pool {
				if rapid.Bool().Draw(t, label+p) {
					out = append(out, p)
				}
			}
			if len(out) == 0 {
				out = []string{pool[rapid.IntRange(0, len(pool)-1).Draw(t, label)]}
			}
			return out
		}
		old, next := pick("old"), pick("new")
		r, err := NewRule(old, next)
		if err != nil {
			t.Fatal(err)
		}
		ans := map[string]bool{}
		var v Votes
		for range rapid.IntRange(0, 20).Draw(t, "steps") {
			i := rapid.IntRange(0, r.All().Len()-1).Draw(t, "who")
			yes := rapid.Bool().Draw(t, "yes")
			name := r.All().Name(i)
			if _, seen := ans[name]; !seen {
				ans[name] = yes
			}
			if yes {
				v.Yes(i)
			} else {
				v.No(i)
			}
			half := func(set []string) Result {
				y, no := 0, 0
				for _, s := range set {
					if a, ok := ans[s]; ok && a {
						y++
					} else if ok {
						no++
					}
				}
				switch maj := len(set)/2 + 1; {
				case y >= maj:
					return Won
				case len(set)-no < maj:
					return Lost
				}
				return Pending
			}
			want := Both(half(old), half(next))
			if got := r.Result(v); got != want {
				t.Fatalf("old %v new %v answers %v: rule %v, want %v", old, next, ans, got, want)
			}
		}
	})
}

// {a,b,c} -> {a,d,e}: yes from d and e is a majority of the new set but
// not of the old one, so the joint rule does not decide on it (a new-only
// count would), and no from b and c loses the vote whatever the new set
// says.
func TestRuleJointRefusesOneHalf(t *testing.T) {
	r, err := NewRule([]string{"a", "b", "c"}, []string{"a", "d", "e"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.All().Names(); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("union %v", got)
	}
	var v Votes
	for _, n := range []string{"d", "e"} {
		i, _ := r.All().Index(n)
		v.Yes(i)
	}
	if r.Result(v) != Pending || r.ResultNew(v) != Won {
		t.Fatalf("new-only majority: joint %v, new half %v", r.Result(v), r.ResultNew(v))
	}
	for _, n := range []string{"b", "c"} {
		i, _ := r.All().Index(n)
		v.No(i)
	}
	if r.Result(v) != Lost {
		t.Fatalf("old majority said no: joint %v, want lost", r.Result(v))
	}
	if _, err := NewRule([]string{"a", "a"}, nil); err == nil {
		t.Fatal("duplicate voter accepted")
	}
}

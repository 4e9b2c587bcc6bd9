package fence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"
)

// write is one operation sent by a holder: the token of its tenure.
type write struct {
	name  string
	token uint64
}

// genDeliveries models what a resource sees: per name, a sequence of tenures
// with strictly increasing tokens (R12), each sending several writes; every
// write may be delayed, so the resource receives all of them in any order.
func genDeliveries(t *rapid.T) []write {
	names := rapid.IntRange(1, 3).Draw(t, "names")
	var all []write
	for n := range names {
		name := fmt.Sprintf("lease-%d", n)
		token := uint64(0)
		tenures := rapid.IntRange(1, 6).Draw(t, "tenures")
		for range tenures {
			// Gaps model lost tenures and era jumps; the era sits in the
			// high 32 bits.
			token += rapid.OneOf(
				rapid.Uint64Range(1, 3),
				rapid.Uint64Range(1<<32, 3<<32),
			).Draw(t, "gap")
			writes := rapid.IntRange(1, 5).Draw(t, "writes")
			for range writes {
				all = append(all, write{name, token})
			}
		}
	}
	return rapid.Permutation(all).Draw(t, "delivery order")
}

// checkDelivery delivers writes in order through admit and checks, per name,
// that a write is refused exactly when its token is below one already
// admitted, that the refusal reports that highest token, and that the
// admitted writes form a non-decreasing sequence.
func checkDelivery(t *rapid.T, ws []write, admit func(write) error, applied func(name string) []uint64) {
	highest := make(map[string]uint64) // the model
	admitted := make(map[string][]uint64)
	for i, w := range ws {
		err := admit(w)
		h := highest[w.name]
		if w.token < h {
			var se *StaleError
			if !errors.As(err, &se) || se.Highest != h || se.Token != w.token || se.Name != w.name {
				t.Fatalf("delivery %d: %v with %s at highest %d: got %v, want StaleError", i, w.token, w.name, h, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("delivery %d: %v with %s at highest %d: got %v, want admitted", i, w.token, w.name, h, err)
		}
		highest[w.name] = w.token
		admitted[w.name] = append(admitted[w.name], w.token)
	}
	for name, want := range admitted {
		for i := 1; i < len(want); i++ {
			if want[i] < want[i-1] {
				t.Fatalf("%s: admitted %d after %d", name, want[i], want[i-1])
			}
		}
		if applied != nil {
			got := applied(name)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: applied %v, admitted %v", name, got, want)
			}
		}
	}
}

// R12: stale holders' writes, however delayed and reordered, never land after
// a newer tenure's write.
func TestPropertyDelayedWrites(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ws := genDeliveries(t)
		g := New()
		checkDelivery(t, ws, func(w write) error { return g.Admit(w.name, w.token) }, nil)
		for _, w := range ws {
			h, ok := g.Highest(w.name)
			if !ok || h < w.token {
				t.Fatalf("Highest(%s) = %d, %v after delivering token %d", w.name, h, ok, w.token)
			}
		}
	})
}

// The same property through Do, checking what the operations actually
// applied rather than what Admit answered.
func TestPropertyDelayedWritesDo(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ws := genDeliveries(t)
		g := New()
		log := make(map[string][]uint64)
		checkDelivery(t, ws,
			func(w write) error {
				return g.Do(w.name, w.token, func() error {
					log[w.name] = append(log[w.name], w.token)
					return nil
				})
			},
			func(name string) []uint64 { return log[name] })
	})
}

// The file-backed Guard keeps the property across restarts: the delivery is
// cut at random points where the Guard is closed and reopened from its file.
func TestPropertyDelayedWritesRestart(t *testing.T) {
	root := t.TempDir()
	run := 0
	rapid.Check(t, func(t *rapid.T) {
		run++
		path := filepath.Join(root, fmt.Sprintf("run-%d", run), "tokens")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		ws := genDeliveries(t)
		g, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = g.Close() }()
		checkDelivery(t, ws, func(w write) error {
			if rapid.IntRange(0, 4).Draw(t, "restart") == 0 {
				_ = g.Close()
				if g, err = OpenFile(path); err != nil {
					return err
				}
			}
			return g.Admit(w.name, w.token)
		}, nil)
	})
}

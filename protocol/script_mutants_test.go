//go:build mutants

package protocol

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// The rule scripts can fail: a script whose header says
//
//	# weakened by: R5-replace-live
//
// is run again with that weakening switched on in every machine, and must
// then print something other than its expected output (or trip a local
// invariant). Run with: go test -tags mutants ./protocol -run MutantRuleScripts

func init() {
	applyWeakenings = func(c *Config, ws []Weakening) {
		for _, w := range ws {
			c.Weaken.Enable(w)
		}
	}
}

// scriptWeakenings maps each script under testdata to the weakenings its
// header names.
func scriptWeakenings(t *testing.T) map[string][]Weakening {
	t.Helper()
	byName := map[string]Weakening{}
	for _, w := range AllWeakenings() {
		byName[w.String()] = w
	}
	out := map[string][]Weakening{}
	for _, dir := range []string{"testdata/rules", "testdata/scripts"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
		for _, f := range files {
			for _, b := range parseScript(t, f) {
				for _, c := range b.comments {
					name, ok := strings.CutPrefix(c, "# weakened by: ")
					if !ok {
						continue
					}
					w, known := byName[strings.TrimSpace(name)]
					if !known {
						t.Fatalf("%s: unknown weakening %q", f, name)
					}
					out[f] = append(out[f], w)
				}
			}
		}
	}
	return out
}

// fatalCatcher turns a Fatalf of the harness (a local invariant broken)
// into a value the mutant test can count as a detection.
type fatalCatcher struct{}

type caught struct{ msg string }

func (fatalCatcher) Helper() {}
func (fatalCatcher) Fatalf(format string, args ...any) {
	panic(caught{fmt.Sprintf(format, args...)})
}

// detects runs the script with w on and reports what gave the weakening
// away: a difference from the expected output, or a broken invariant.
func detects(t *testing.T, path string, w Weakening) (how string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(caught)
			if !ok {
				panic(r)
			}
			how = "invariant: " + c.msg
		}
	}()
	return runScript(fatalCatcher{}, path, []Weakening{w})
}

func TestMutantRuleScripts(t *testing.T) {
	scripts := scriptWeakenings(t)
	if len(scripts) == 0 {
		t.Fatal("no script names a weakening")
	}
	for path, ws := range scripts {
		for _, w := range ws {
			t.Run(filepath.Base(path)+"/"+w.String(), func(t *testing.T) {
				if mismatch := runScript(t, path, nil); mismatch != "" {
					t.Fatalf("fails without the weakening: %s", mismatch)
				}
				how := detects(t, path, w)
				if how == "" {
					t.Fatalf("%s passes with %v switched on: it cannot catch that bug", path, w)
				}
				t.Logf("caught %v: %s", w, strings.SplitN(how, "\n", 2)[0])
			})
		}
	}
}

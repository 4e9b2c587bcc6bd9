package check

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Violation is one broken guarantee.
type Violation struct {
	// Check names the check: "linearizability", "stale-write", "tokens",
	// "overlap" or "lost", or "quarantine" (found by the chaos nemesis
	// itself, not in the history: a voter restarted from a stale data dir
	// that did not sit out the quarantine).
	Check string `json:"check"`
	// Key is the lease name and register key concerned.
	Key string `json:"key,omitempty"`
	// Detail says what happened, with clients, tokens and times.
	Detail string `json:"detail"`
}

// String renders v on one line.
func (v Violation) String() string {
	if v.Key == "" {
		return v.Check + ": " + v.Detail
	}
	return fmt.Sprintf("%s [%s]: %s", v.Check, v.Key, v.Detail)
}

// Report is the result of Run.
type Report struct {
	// Violations lists every broken guarantee; empty means the run passed.
	Violations []Violation
	// Linearizability is porcupine's verdict on the register history:
	// porcupine.Unknown means the check timed out (itself a failure).
	Linearizability porcupine.CheckResult
	// Tenures are the clients' tenures the checks used.
	Tenures []Tenure

	info  porcupine.LinearizationInfo
	model porcupine.Model
}

// Run checks h: linearizability with the given porcupine timeout (0: no
// limit), then the stale-write, token, overlap and lost-write checks.
func Run(h *History, timeout time.Duration) *Report {
	r := &Report{model: RegisterModel(), Tenures: h.Tenures()}
	r.Linearizability, r.info = porcupine.CheckOperationsVerbose(r.model, h.Operations(), timeout)
	switch r.Linearizability {
	case porcupine.Illegal:
		r.Violations = append(r.Violations, Violation{Check: "linearizability",
			Detail: "the register history has no linearization under the fenced-register model (see linearizability.html)"})
	case porcupine.Unknown:
		r.Violations = append(r.Violations, Violation{Check: "linearizability",
			Detail: fmt.Sprintf("porcupine gave up after %v: the history is unchecked", timeout)})
	}
	r.Violations = append(r.Violations, checkStaleAcked(h)...)
	r.Violations = append(r.Violations, checkTokens(r.Tenures)...)
	r.Violations = append(r.Violations, checkOverlap(r.Tenures)...)
	r.Violations = append(r.Violations, checkLost(h)...)
	sort.SliceStable(r.Violations, func(i, j int) bool { return r.Violations[i].Check < r.Violations[j].Check })
	return r
}

// OK reports whether no check failed.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

// WriteArtifacts writes into dir (created if needed) history.json,
// violations.txt and porcupine's visualisation linearizability.html, with
// the tenures and the nemesis's faults drawn as annotations.
func (r *Report) WriteArtifacts(dir string, h *History) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := h.WriteJSON(filepath.Join(dir, "history.json")); err != nil {
		return err
	}
	var b strings.Builder
	for _, v := range r.Violations {
		b.WriteString(v.String())
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "violations.txt"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	var notes []porcupine.Annotation
	for _, t := range r.Tenures {
		notes = append(notes, porcupine.Annotation{ClientId: t.Client, Start: t.Start, End: t.End,
			Description: fmt.Sprintf("tenure %s #%d", t.Key, t.Token), Details: t.String(), BackgroundColor: "#e0f0e0"})
	}
	for _, f := range h.Faults {
		notes = append(notes, porcupine.Annotation{Tag: "nemesis", Start: f.Start, End: f.End,
			Description: f.Kind, Details: f.Detail, BackgroundColor: "#f8d0d0"})
	}
	r.info.AddAnnotations(notes)
	return porcupine.VisualizePath(r.model, r.info, filepath.Join(dir, "linearizability.html"))
}

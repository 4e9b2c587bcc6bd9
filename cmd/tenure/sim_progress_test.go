package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProgressLine checks the text of the sweep's progress line: the
// bar, the seeds done, the event rate and the time left.
func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		done, total int
		events      uint64
		elapsed     time.Duration
		want        []string
	}{
		{0, 1000, 0, 0, []string{"[" + strings.Repeat(".", 30) + "]", "0/1000 seeds (0%)", "- events/s", "ETA -"}},
		{250, 1000, 5_000_000, 10 * time.Second, []string{"[" + strings.Repeat("#", 7) + strings.Repeat(".", 23) + "]", "250/1000 seeds (25%)", "0.50 M events/s", "ETA 30s"}},
		{999, 1000, 2e9, 999 * time.Second, []string{"999/1000 seeds (99%)", "2.00 M events/s", "ETA 1s"}},
		{1000, 1000, 3e9, 1500 * time.Second, []string{"[" + strings.Repeat("#", 30) + "]", "1000/1000 seeds (100%)", "done in 25m0s"}},
	} {
		got := progressLine(tc.done, tc.total, tc.events, tc.elapsed)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("progressLine(%d, %d, %d, %v) = %q: lacks %q", tc.done, tc.total, tc.events, tc.elapsed, got, w)
			}
		}
	}
}

// TestSweepProgressRedraws checks that the line is redrawn in place at
// most every progressRedraw, always for the last seed, and ended with a
// newline.
func TestSweepProgressRedraws(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	var w bytes.Buffer
	p := newSweepProgress(&w, 4, clock)
	p.update(1, 10)
	now = now.Add(progressRedraw / 2)
	p.update(2, 20) // too soon: not drawn
	now = now.Add(progressRedraw)
	p.update(3, 30)
	p.update(4, 40) // the last: drawn at once
	p.end()
	out := w.String()
	if n := strings.Count(out, "\r"); n != 3 || strings.Contains(out, " 2/4 ") || !strings.Contains(out, "4/4 seeds") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("%d redraws in %q; want 3 (seeds 1, 3, 4) and a final newline", n, out)
	}
	var nilBar *sweepProgress
	nilBar.end() // no bar: nothing to end, no panic
}

// TestSimNoProgressOffTerminal runs a small sweep with stderr a buffer and
// a file: neither is a terminal, so nothing is printed there. --help
// prints the usage once, on stdout.
func TestSimNoProgressOffTerminal(t *testing.T) {
	args := []string{"sim", "--seeds", "3", "--duration", "5s", "--workers", "1"}
	var out, errb bytes.Buffer
	if code := runMain(args, &out, &errb); code != 0 || errb.Len() != 0 {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, errb.String())
	}
	if !strings.Contains(out.String(), "seeds ") {
		t.Fatalf("no report: %q", out.String())
	}
	file, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if isTerminal(file) || isTerminal(&errb) {
		t.Fatal("a file or a buffer taken for a terminal")
	}
	out.Reset()
	if code := runMain(args, &out, file); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if st, _ := file.Stat(); st.Size() != 0 {
		t.Fatalf("%d bytes written to a file stderr", st.Size())
	}
	out.Reset()
	errb.Reset()
	if code := runMain([]string{"sim", "--help"}, &out, &errb); code != 0 || errb.Len() != 0 || strings.Count(out.String(), "Usage: tenure sim") != 1 {
		t.Fatalf("sim --help: exit %d, stderr %q, %d usages on stdout", code, errb.String(), strings.Count(out.String(), "Usage: tenure sim"))
	}
}

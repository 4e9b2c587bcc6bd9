package docs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const guide = "operations.md"

// goSources is the text of every non-test Go file of the module.
func goSources(t *testing.T) map[string]string {
	t.Helper()
	src := map[string]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src[path] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(src) < 10 {
		t.Fatalf("found only %d Go files above docs/", len(src))
	}
	return src
}

func readGuide(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(guide)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var backquoted = regexp.MustCompile("`([^`]+)`")

// troubleshootingMessages returns the backquoted messages in the first
// column of the guide's troubleshooting table.
func troubleshootingMessages(t *testing.T, text string) []string {
	t.Helper()
	_, table, ok := strings.Cut(text, "\n## Troubleshooting\n")
	if !ok {
		t.Fatalf("%s has no Troubleshooting section", guide)
	}
	if i := strings.Index(table, "\n## "); i >= 0 {
		table = table[:i]
	}
	var msgs []string
	for line := range strings.Lines(table) {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| `") || len(cells) < 5 {
			continue
		}
		m := backquoted.FindAllStringSubmatch(cells[1], -1)
		if len(m) != 1 {
			t.Errorf("%s: troubleshooting row %q: want exactly one backquoted message in its first cell", guide, strings.TrimSpace(line))
			continue
		}
		if strings.TrimSpace(cells[2]) == "" || strings.TrimSpace(cells[3]) == "" {
			t.Errorf("%s: troubleshooting row for %q lacks its meaning or what to do", guide, m[0][1])
		}
		msgs = append(msgs, m[0][1])
	}
	if len(msgs) < 20 {
		t.Fatalf("%s: found %d troubleshooting rows, want at least 20", guide, len(msgs))
	}
	return msgs
}

// TestTroubleshootingMessagesOccurInSource keeps the troubleshooting table
// from rotting: each message it quotes must still occur, as written, in
// a non-test Go file, where a user sees it.
func TestTroubleshootingMessagesOccurInSource(t *testing.T) {
	src := goSources(t)
	seen := map[string]bool{}
	for _, msg := range troubleshootingMessages(t, readGuide(t)) {
		if seen[msg] {
			t.Errorf("%s: %q has two troubleshooting rows", guide, msg)
		}
		seen[msg] = true
		found := false
		for _, text := range src {
			if strings.Contains(text, msg) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: troubleshooting message %q occurs in no Go source file: update the table to the message users now see", guide, msg)
		}
	}
}

// TestGuideMetricsExist checks that every tenure_* metric the guide names
// is one the agent exports (its name is a string in the source).
func TestGuideMetricsExist(t *testing.T) {
	src := goSources(t)
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`\btenure_[a-z_]+[a-z]`).FindAllString(readGuide(t), -1) {
		names[m] = true
	}
	if len(names) < 10 {
		t.Fatalf("%s names only %d metrics", guide, len(names))
	}
	for name := range names {
		found := false
		for path, text := range src {
			if strings.HasPrefix(filepath.ToSlash(path), "../agent/") && strings.Contains(text, `"`+name+`"`) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s names metric %s, which the agent does not export", guide, name)
		}
	}
}

// TestGuideVariablesAndFiles checks that every TENURE_* variable the guide
// names is in the env example, and every repo file it points to exists.
func TestGuideVariablesAndFiles(t *testing.T) {
	text := readGuide(t)
	env, err := os.ReadFile("../packaging/systemd/tenure.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range regexp.MustCompile(`\bTENURE_[A-Z_]+[A-Z]`).FindAllString(text, -1) {
		if !regexp.MustCompile(`(?m)^#?` + v + `=`).Match(env) {
			t.Errorf("%s names %s, which packaging/systemd/tenure.env.example does not show", guide, v)
		}
	}
	paths := regexp.MustCompile(`\b(packaging|cmd|agent|node)/[A-Za-z0-9_./-]*[A-Za-z0-9]`).FindAllString(text, -1)
	if len(paths) == 0 {
		t.Fatalf("%s points to no file of the repo", guide)
	}
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join("..", p)); err != nil {
			t.Errorf("%s points to %s: %v", guide, p, err)
		}
	}
}

package docs_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/agent"
	"github.com/tenure-dev/tenure/node"
)

const metricsDoc = "metrics.md"

// scrapeAgent starts a one-voter node with an agent over it on loopback,
// and returns the text of its GET /metrics.
func scrapeAgent(t *testing.T) []byte {
	t.Helper()
	n, err := node.New(node.Config{Name: "a", BindAddr: "127.0.0.1", Voters: []string{"a"}, DataDir: t.TempDir(), NewCluster: true})
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	a, err := agent.New(agent.Config{Node: n})
	if err != nil {
		_ = n.Shutdown()
		t.Fatalf("agent.New: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Close(ctx)
		srv.Close()
		if err := n.Leave(ctx); err != nil {
			t.Errorf("node.Leave: %v", err)
		}
	}()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return b
}

// exported maps each metric family of a scrape to its type.
func exported(scrape []byte) map[string]string {
	out := map[string]string{}
	for line := range strings.Lines(string(scrape)) {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = f[3]
		}
	}
	return out
}

var metricRow = regexp.MustCompile("^\\| `([a-z_]+)` \\| ([a-z]+) \\| ([^|]+) \\| ([^|]+) \\| ([^|]+) \\|$")

// documented maps each metric of the table in metrics.md to its type.
func documented(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(metricsDoc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		m := metricRow.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("%s: row %q: want | `name` | type | unit | labels | meaning |, every cell filled", metricsDoc, line)
			continue
		}
		if _, dup := out[m[1]]; dup {
			t.Errorf("%s: %s has two rows", metricsDoc, m[1])
		}
		out[m[1]] = m[2]
	}
	return out
}

// TestMetricsTableMatchesScrape fails if a metric a real agent exports has
// no row in docs/metrics.md, if a row names a metric the agent does not
// export, or if a row's type is not the exported one.
func TestMetricsTableMatchesScrape(t *testing.T) {
	got := exported(scrapeAgent(t))
	doc := documented(t)
	if len(got) < 30 || len(doc) < 30 {
		t.Fatalf("scrape has %d metrics, %s has %d rows: too few to be real", len(got), metricsDoc, len(doc))
	}
	for name, typ := range got {
		switch d, ok := doc[name]; {
		case !ok:
			t.Errorf("the agent exports %s (%s), which %s does not document", name, typ, metricsDoc)
		case d != typ:
			t.Errorf("%s documents %s as a %s; the agent exports a %s", metricsDoc, name, d, typ)
		}
	}
	for name := range doc {
		if _, ok := got[name]; !ok {
			t.Errorf("%s documents %s, which the agent does not export", metricsDoc, name)
		}
	}
}

// TestMetricsPromtool runs promtool check metrics on a scrape: it must
// report no problem. Without promtool the test is skipped, or fails when
// CI=true (scripts/test.sh installs Debian's prometheus package for it).
func TestMetricsPromtool(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool not found (CI=true): apt-get install prometheus")
		}
		t.Skip("promtool not found (apt-get install prometheus)")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrapeAgent(t))
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

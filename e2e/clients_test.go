package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientsBearer is the bearer token of the agents the client suites run
// against: every call of theirs must carry it (--http-token-file).
const clientsBearer = "clients-e2e-bearer"

// suiteTimeout bounds one client package's whole test suite.
const suiteTimeout = 5 * time.Minute

// TestClients installs the client packages of clients/ the way a user
// would (pip install ./clients/python; npm pack, then npm install of the
// tarball) and runs each package's own test suite, against the installed
// copy, on a real cluster: three voters without data dirs (their eras come
// from the wall clock, so every token exceeds 2^53) behind a bearer token,
// plus one non-voter agent per suite that the suite stops with SIGTERM.
// A suite passes only if it ran every test: a skipped one fails it here.
func TestClients(t *testing.T) {
	py, pyErr := exec.LookPath("python3")
	node, nodeErr := exec.LookPath("node")
	if pyErr != nil && nodeErr != nil {
		t.Skip("neither python3 nor node is installed")
	}
	root, err := filepath.Abs(filepath.Join("..", "clients"))
	if err != nil {
		t.Fatal(err)
	}
	bearer := filepath.Join(t.TempDir(), "bearer")
	if err := os.WriteFile(bearer, []byte(clientsBearer+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--ttl", "1s", "--max-ttl", "3s", "--http-token-file", bearer}
	voters := []string{"a", "b", "c"}
	a := launchAgent(t, "a", voters, "", "-", flags...)
	a.waitReady()
	ps := []*proc{a}
	for _, name := range []string{"b", "c"} {
		p := launchAgent(t, name, voters, a.gossip, "-", flags...)
		p.waitReady()
		ps = append(ps, p)
	}
	var urls []string
	for _, p := range ps {
		clientsGrantable(t, p)
		urls = append(urls, p.http)
	}
	// Clipped, so that each suite's additions get an array of their own.
	env := slices.Clip(append(os.Environ(),
		"TENURE_AGENTS="+strings.Join(urls, ","),
		"TENURE_BEARER="+clientsBearer,
		"TENURE_BIG_TOKENS=1",
		"PYTHONDONTWRITEBYTECODE=1", // leave no __pycache__ in the work tree
	))
	// stoppable starts the agent a suite may stop, and returns its
	// environment for the suite.
	stoppable := func(name string) (*proc, []string) {
		p := launchAgent(t, name, voters, a.gossip, "-", flags...)
		p.waitReady()
		clientsGrantable(t, p)
		return p, append(env, "TENURE_STOPPABLE="+p.http, "TENURE_STOPPABLE_PID="+strconv.Itoa(p.cmd.Process.Pid))
	}

	t.Run("python", func(t *testing.T) {
		if pyErr != nil {
			t.Skip("python3 is not installed")
		}
		target := filepath.Join(t.TempDir(), "site")
		clientsRun(t, filepath.Join(root, "python"), env, py, "-m", "pip", "install", "--no-index", "--no-cache-dir",
			"--disable-pip-version-check", "--target", target, filepath.Join(root, "python"))
		stop, env := stoppable("py-stop")
		env = append(env, "PYTHONPATH="+target, "TENURE_INSTALLED="+target)
		out := clientsRun(t, filepath.Join(root, "python"), env, py, "-m", "unittest", "discover", "-v", "-s", "tests", "-t", ".")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		ran := regexp.MustCompile(`(?m)^Ran (\d+) tests? in`).FindStringSubmatch(out)
		if ran == nil || ran[1] == "0" || lines[len(lines)-1] != "OK" {
			t.Fatalf("the Python suite did not run every test with none skipped:\n%s", out)
		}
		t.Logf("python: %s tests passed", ran[1])
		if code := stop.wait(); code != 0 {
			t.Fatalf("agent stopped by the Python suite exited %d, want 0 (SIGTERM)", code)
		}
	})

	t.Run("js", func(t *testing.T) {
		if nodeErr != nil {
			t.Skip("node is not installed")
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatal("node is installed without npm")
		}
		dir := t.TempDir()
		clientsRun(t, filepath.Join(root, "js"), env, npm, "pack", "--silent", "--pack-destination", dir)
		tarballs, _ := filepath.Glob(filepath.Join(dir, "tenure-client-*.tgz"))
		if len(tarballs) != 1 {
			t.Fatalf("npm pack made %v", tarballs)
		}
		project := filepath.Join(dir, "project")
		if err := os.MkdirAll(project, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(project, "package.json"), []byte(`{"name":"clients-e2e","private":true}`), 0o644); err != nil {
			t.Fatal(err)
		}
		clientsRun(t, project, env, npm, "install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", tarballs[0])
		stop, env := stoppable("js-stop")
		env = append(env, "TENURE_JS_MODULE="+filepath.Join(project, "node_modules", "tenure-client", "index.js"))
		files, _ := filepath.Glob(filepath.Join(root, "js", "test", "*.test.js"))
		if len(files) == 0 {
			t.Fatal("no clients/js/test/*.test.js")
		}
		out := clientsRun(t, filepath.Join(root, "js"), env, node, append([]string{"--test"}, files...)...)
		count := func(what string) int {
			m := regexp.MustCompile(`(?m)^# ` + what + ` (\d+)$`).FindStringSubmatch(out)
			if m == nil {
				return -1
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
		if count("pass") <= 0 || count("fail") != 0 || count("skipped") != 0 || count("cancelled") != 0 || count("todo") != 0 {
			t.Fatalf("the JavaScript suite did not run every test with none skipped:\n%s", out)
		}
		t.Logf("js: %d tests passed", count("pass"))
		if code := stop.wait(); code != 0 {
			t.Fatalf("agent stopped by the JavaScript suite exited %d, want 0 (SIGTERM)", code)
		}
	})
}

// clientsRun runs name with args in dir and returns its combined output; it fails
// the test if the command fails.
func clientsRun(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), suiteTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", filepath.Base(name), strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// clientsGrantable waits until agent p grants a lease (the voters are out
// of their start-up quarantine), then releases it.
func clientsGrantable(t *testing.T, p *proc) {
	t.Helper()
	url := p.http
	waitFor(t, "a grant through agent "+p.name, func() bool {
		var g grant
		if clientsCall(http.MethodPost, url+"/v1/leases/clients-probe", `{"ttl":"1s"}`, "", &g) != http.StatusOK {
			return false
		}
		return clientsCall(http.MethodDelete, fmt.Sprintf("%s/v1/leases/clients-probe?token=%d", url, g.Token), "", g.LeaseKey, nil) == http.StatusNoContent
	}, p.exited)
}

// clientsCall is one API call with the clients' bearer token (and the
// lease key, if key is not empty); it returns the status, or 0 on a
// transport error.
func clientsCall(method, url, body, key string, out any) int {
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+clientsBearer)
	if key != "" {
		req.Header.Set("Tenure-Lease-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && json.Unmarshal(b, out) != nil {
		return 0
	}
	return resp.StatusCode
}

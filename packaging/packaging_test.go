package packaging_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// needTool returns the path of a command the test needs. Missing, the test
// skips, except in CI (CI=true), where scripts/test.sh installs it: there
// a missing tool fails the test instead of hiding it.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (CI=true): scripts/test.sh installs it (apt-get install %s)", name, pkg)
	}
	t.Skipf("%s is missing: apt-get install %s", name, pkg)
	return ""
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// tenureBinary builds cmd/tenure once, statically (CGO_ENABLED=0), as the
// unit and the image expect it.
func tenureBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tenure-packaging-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, "tenure"), "github.com/tenure-dev/tenure/cmd/tenure")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "tenure")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

const (
	unitPath = "systemd/tenure-agent.service"
	envPath  = "systemd/tenure.env.example"
)

// unitSettings reads the [Service] settings of the unit: key → values in
// order (a key may repeat).
func unitSettings(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	s := map[string][]string{}
	section := ""
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is not KEY=VALUE", unitPath, line)
			}
			s[k] = append(s[k], v)
		}
	}
	return s
}

// envAssignment is one line of the env example: set, or shown commented
// out.
type envAssignment struct {
	name, value string
	commented   bool
}

// envExample reads every TENURE_* assignment of the env example, the
// commented-out ones included.
func envExample(t *testing.T) []envAssignment {
	t.Helper()
	f, err := os.Open(envPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []envAssignment
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		commented := strings.HasPrefix(line, "#")
		line = strings.TrimPrefix(line, "#")
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "TENURE_") || strings.ContainsAny(k, " \t") {
			if !commented && line != "" {
				t.Fatalf("%s: %q is neither a comment nor TENURE_NAME=VALUE", envPath, sc.Text())
			}
			continue
		}
		out = append(out, envAssignment{name: k, value: v, commented: commented})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no TENURE_* assignment", envPath)
	}
	return out
}

// flagOf is the flag of variable TENURE_X_Y: --x-y.
func flagOf(env string) string {
	return "--" + strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, "TENURE_"), "_", "-"))
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit, with
// ExecStart pointed at a built binary (verify refuses a command that does
// not exist, and /usr/local/bin/tenure need not). verify exits 0 on
// warnings such as an unknown key or a bad value, so any output fails the
// test too.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := needTool(t, "systemd-analyze", "systemd")
	bin := tenureBinary(t)
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	const exec0 = "ExecStart=/usr/local/bin/tenure "
	if !bytes.Contains(b, []byte("\n"+exec0)) {
		t.Fatalf("%s: no line starting %q", unitPath, exec0)
	}
	unit := bytes.Replace(b, []byte("\n"+exec0), []byte("\nExecStart="+bin+" "), 1)
	path := filepath.Join(t.TempDir(), "tenure-agent.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
	}
}

// TestSystemdUnitMatchesAgent checks what the unit assumes of the agent and
// of the env example: the data dir is the unit's StateDirectory, SIGTERM
// is the stop signal, and TimeoutStopSec leaves the agent its
// --shutdown-timeout with room to spare.
func TestSystemdUnitMatchesAgent(t *testing.T) {
	s := unitSettings(t)
	want := map[string]string{
		"Type": "exec", "Restart": "on-failure", "KillSignal": "SIGTERM", "StateDirectory": "tenure",
		"EnvironmentFile": "/etc/tenure/tenure.env", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"ProtectHome": "yes", "PrivateTmp": "yes",
	}
	for k, v := range want {
		if got := s[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s: %s=%v, want %s", unitPath, k, got, v)
		}
	}
	env := map[string]string{}
	for _, a := range envExample(t) {
		if !a.commented {
			env[a.name] = a.value
		}
	}
	if got := env["TENURE_DATA_DIR"]; got != "/var/lib/"+s["StateDirectory"][0] {
		t.Errorf("%s: TENURE_DATA_DIR=%q, want the unit's StateDirectory /var/lib/%s", envPath, got, s["StateDirectory"][0])
	}
	stop, err := time.ParseDuration(strings.Join(s["TimeoutStopSec"], ""))
	if err != nil {
		t.Fatalf("%s: TimeoutStopSec=%v: %v", unitPath, s["TimeoutStopSec"], err)
	}
	shutdown, err := time.ParseDuration(env["TENURE_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("%s: TENURE_SHUTDOWN_TIMEOUT=%q: %v", envPath, env["TENURE_SHUTDOWN_TIMEOUT"], err)
	}
	// The agent spends at most --shutdown-timeout on hold streams, the HTTP
	// server and leaving together; twice that leaves room for a slow disk.
	if stop < 2*shutdown {
		t.Errorf("TimeoutStopSec %v is less than twice TENURE_SHUTDOWN_TIMEOUT %v: a slow stop would be killed and count as a crash", stop, shutdown)
	}
}

// TestEnvExampleNamesAreAgentFlags checks that every TENURE_* variable in
// the env example, set or shown commented out, names a flag that
// `tenure agent --help` lists with that variable.
func TestEnvExampleNamesAreAgentFlags(t *testing.T) {
	out, err := exec.Command(tenureBinary(t), "agent", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("tenure agent --help: %v\n%s", err, out)
	}
	help := string(out)
	seen := map[string]bool{}
	for _, a := range envExample(t) {
		if seen[a.name] {
			t.Errorf("%s: %s appears twice", envPath, a.name)
		}
		seen[a.name] = true
		if !strings.Contains(help, flagOf(a.name)+" ") && !strings.Contains(help, flagOf(a.name)+"\n") {
			t.Errorf("%s: %s: tenure agent --help lists no flag %s", envPath, a.name, flagOf(a.name))
		}
		if !strings.Contains(help, a.name) {
			t.Errorf("%s: %s: tenure agent --help does not name this variable", envPath, a.name)
		}
	}
	for _, must := range []string{"TENURE_NAME", "TENURE_VOTERS", "TENURE_DATA_DIR", "TENURE_NEW_CLUSTER"} {
		if !seen[must] {
			t.Errorf("%s does not show %s", envPath, must)
		}
	}
}

// TestEnvExampleStartsAgent starts `tenure agent` from the env example's
// variables alone, as the unit does, with only the host-specific values
// replaced: the addresses by loopback ones, the files by ones made here,
// and the first start of a new cluster as the comments say. The agent must
// serve, use the data dir and cluster ID the file gives, and stop on
// SIGTERM with status 0.
func TestEnvExampleStartsAgent(t *testing.T) {
	bin := tenureBinary(t)
	dir := t.TempDir()
	secret := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("MDEyMzQ1Njc4OWFiY2RlZg==\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dataDir := filepath.Join(dir, "data")
	ready := filepath.Join(dir, "ready.json")
	replace := map[string]string{
		"TENURE_VOTERS": "", "TENURE_NAME": "", // kept: a single voter named as the file says
		"TENURE_BIND": "127.0.0.1:0", "TENURE_JOIN": "", "TENURE_HTTP": "127.0.0.1:0",
		"TENURE_DATA_DIR": dataDir, "TENURE_KEYFILE": secret("key"), "TENURE_HTTP_TOKEN_FILE": secret("token"),
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "TENURE_READY_FILE=" + ready, "TENURE_NEW_CLUSTER=true"}
	var name, cluster string
	for _, a := range envExample(t) {
		if a.commented {
			continue
		}
		v, ok := replace[a.name]
		switch {
		case a.name == "TENURE_NAME":
			name, v = a.value, a.value
		case a.name == "TENURE_VOTERS":
			v = name // one voter: this node
		case a.name == "TENURE_CLUSTER":
			cluster, v = a.value, a.value
		case !ok:
			v = a.value
		}
		if v != "" {
			env = append(env, a.name+"="+v)
		}
	}
	if name == "" || cluster == "" {
		t.Fatalf("%s sets no TENURE_NAME or no TENURE_CLUSTER", envPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "agent")
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	var info struct{ HTTP string }
	for info.HTTP == "" {
		select {
		case err := <-exited:
			t.Fatalf("agent exited before writing its ready file: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("no ready file within a minute\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if b, err := os.ReadFile(ready); err == nil {
			if err := json.Unmarshal(b, &info); err != nil {
				t.Fatalf("ready file: %v: %s", err, b)
			}
		}
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", info.HTTP+"/v1/members", nil)
	req.Header.Set("Authorization", "Bearer MDEyMzQ1Njc4OWFiY2RlZg==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var members struct {
		Self string
		Node struct{ Cluster string }
	}
	err = json.NewDecoder(resp.Body).Decode(&members)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("GET /v1/members: %s, %v", resp.Status, err)
	}
	if members.Self != name || members.Node.Cluster != cluster {
		t.Errorf("agent runs node %q of cluster %q, want %q of %q from %s", members.Self, members.Node.Cluster, name, cluster, envPath)
	}
	if ents, err := os.ReadDir(dataDir); err != nil || len(ents) == 0 {
		t.Errorf("TENURE_DATA_DIR %s was not used: %v, %d entries", dataDir, err, len(ents))
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("agent stopped with %v, want status 0\n%s", err, logs.String())
		}
	case <-ctx.Done():
		t.Fatalf("agent did not stop\n%s", logs.String())
	}
}

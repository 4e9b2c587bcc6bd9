package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/node"
	"github.com/tenure-dev/tenure/protocol"
)

// TestFlagsFromEnvironment checks that each flag reads TENURE_<FLAG>
// unless the command line sets it, and that a bad variable is named.
func TestFlagsFromEnvironment(t *testing.T) {
	var o lockOpts
	f := newLockFlags(&o)
	t.Setenv("TENURE_TTL", "7s")
	t.Setenv("TENURE_WAIT", "3s")
	t.Setenv("TENURE_HTTP_TOKEN_FILE", "/tmp/tok")
	var out, errb bytes.Buffer
	if code, ok := f.parse([]string{"--wait", "1s", "name", "--", "true"}, &out, &errb); !ok {
		t.Fatalf("parse: %d %s", code, errb.String())
	}
	if o.ttl != 7*time.Second || o.wait != time.Second || o.tokenFile != "/tmp/tok" {
		t.Fatalf("ttl %v wait %v token file %q: want 7s from the environment, 1s from the command line, /tmp/tok", o.ttl, o.wait, o.tokenFile)
	}
	if got := f.Args(); len(got) != 3 || got[0] != "name" {
		t.Fatalf("args %q", got)
	}

	t.Setenv("TENURE_GRACE", "soon")
	f = newLockFlags(&o)
	code, ok := f.parse([]string{"x", "--", "true"}, &out, &errb)
	if ok || code != 2 || !strings.Contains(errb.String(), "TENURE_GRACE") {
		t.Fatalf("bad variable: code %d ok %v, stderr %q; want 2 naming TENURE_GRACE", code, ok, errb.String())
	}
}

// TestJoinList checks the repeatable, comma-separated --join.
func TestJoinList(t *testing.T) {
	var o agentOpts
	f := newAgentFlags(&o)
	var out, errb bytes.Buffer
	if _, ok := f.parse([]string{"--join", "a:1,b:2", "--join", "c:3", "--voters", "a, b,c"}, &out, &errb); !ok {
		t.Fatal(errb.String())
	}
	if o.join.String() != "a:1,b:2,c:3" || o.voters.String() != "a,b,c" {
		t.Fatalf("join %q voters %q", o.join.String(), o.voters.String())
	}
}

// TestHelpAndUsageErrors runs every registered command with --help, -h
// and 'tenure help CMD' (exit 0, the one usage layout on stdout, nothing
// on stderr: "Usage: tenure CMD", a paragraph, each visible flag with its
// TENURE_ variable) and with a bad flag (exit 2, a message naming it and
// the way to the help on stderr, nothing on stdout).
func TestHelpAndUsageErrors(t *testing.T) {
	specs := completionSpecs()
	if len(commands) < 10 {
		t.Fatalf("only %d commands registered", len(commands))
	}
	for _, s := range specs {
		cmd := s.name
		if cmd == "help" {
			continue
		}
		for _, args := range [][]string{{cmd, "--help"}, {cmd, "-h"}, {"help", cmd}} {
			var out, errb bytes.Buffer
			if code := runMain(args, &out, &errb); code != 0 || errb.Len() != 0 {
				t.Fatalf("%q: exit %d, stderr %q; want 0 and nothing", args, code, errb.String())
			}
			text := out.String()
			if strings.Count(text, "Usage: ") != 1 || !strings.HasPrefix(text, "Usage: tenure "+cmd) {
				t.Fatalf("%q: want one usage starting \"Usage: tenure %s\", got:\n%s", args, cmd, text)
			}
			paras := strings.Split(text, "\n\n")
			if len(paras) < 3 || len(strings.TrimSpace(paras[1])) < 40 {
				t.Fatalf("%q: want the synopsis, a paragraph and the flags, got:\n%s", args, text)
			}
			for _, f := range s.flags {
				if !strings.Contains(text, "\n  --"+f.name) || !strings.Contains(text, "[$"+envName(f.name)+"]") {
					t.Fatalf("%q: flag --%s or $%s missing from:\n%s", args, f.name, envName(f.name), text)
				}
			}
			if !strings.Contains(text, "-h, --help") {
				t.Fatalf("%q: --help itself not listed", args)
			}
		}
		var out, errb bytes.Buffer
		if code := runMain([]string{cmd, "--no-such-flag"}, &out, &errb); code != 2 || out.Len() != 0 ||
			!strings.Contains(errb.String(), "no-such-flag") || !strings.Contains(errb.String(), "'tenure "+cmd+" --help'") {
			t.Fatalf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want 2 and a message on stderr", cmd, code, out.String(), errb.String())
		}
	}
	// The flag tables are read, not listed by hand: a few known flags.
	for cmd, flag := range map[string]string{"lock": "slots", "agent": "voters", "sim": "seeds", "status": "json", "watch": "agent"} {
		found := false
		for _, s := range specs {
			for _, f := range s.flags {
				found = found || (s.name == cmd && f.name == flag)
			}
		}
		if !found {
			t.Errorf("tenure %s --%s not found in the command table", cmd, flag)
		}
	}
}

// TestTopLevelUsage checks tenure alone (usage on stderr, exit 2), tenure
// --help (stdout, exit 0), an unknown command and an unknown help topic
// (exit 2).
func TestTopLevelUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runMain(nil, &out, &errb); code != 2 || out.Len() != 0 || !strings.HasPrefix(errb.String(), "Usage: tenure COMMAND") {
		t.Fatalf("tenure: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	for _, h := range []string{"--help", "-h", "help"} {
		out.Reset()
		errb.Reset()
		if code := runMain([]string{h}, &out, &errb); code != 0 || errb.Len() != 0 || !strings.Contains(out.String(), "  lock ") {
			t.Fatalf("tenure %s: exit %d, stdout %q, stderr %q", h, code, out.String(), errb.String())
		}
	}
	// fenced-register is the chaos harness's (chaos/cmd/fenced-register),
	// not a command of the product.
	for _, tc := range []struct {
		args    []string
		unknown string
	}{
		{[]string{"no-such-command"}, "no-such-command"},
		{[]string{"help", "no-such-command"}, "no-such-command"},
		{[]string{"fenced-register", "--data", "x"}, "fenced-register"},
		{[]string{"help", "fenced-register"}, "fenced-register"},
	} {
		out.Reset()
		errb.Reset()
		if code := runMain(tc.args, &out, &errb); code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), `unknown command "`+tc.unknown+`"`) {
			t.Fatalf("tenure %q: exit %d, stdout %q, stderr %q; want 2 and unknown command %q", tc.args, code, out.String(), errb.String(), tc.unknown)
		}
	}
}

// TestAgentRefusesUnsafeConfig checks the agent's refusals, those of its
// own checks and those of node.Config's validation alike: each exits 2
// with a message naming the flag, and none creates the data dir.
func TestAgentRefusesUnsafeConfig(t *testing.T) {
	dir := t.TempDir()
	secret := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key20 := secret("key20", base64.StdEncoding.EncodeToString(make([]byte, 20)))
	keyEmpty := secret("key-empty", "\n")
	local := []string{"--voters", "a", "--bind", "127.0.0.1:0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		// The agent's own checks and the required flag.
		{[]string{"--name", "a"}, "--voters is required"},
		{[]string{"--voters", "a"}, "--keyfile"}, // default bind 0.0.0.0 without a key
		{[]string{"--voters", "a", "--bind", "127.0.0.1:0", "--http", "0.0.0.0:0"}, "--http-token-file"},
		{[]string{"--voters", "a", "--bind", "127.0.0.1:0", "--keyfile", dir + "/missing"}, "--keyfile"},
		{append(local, "--keyfile", keyEmpty), "--keyfile " + keyEmpty + " holds no key"},
		{[]string{"--voters", "a", "--bind", "127.0.0.1:x"}, "--bind"},
		{append(local, "--log-format", "xml"), "--log-format"},
		{append(local, "--log-level", "loud"), "--log-level"},
		{append(local, "--ttl", "0"), "--ttl 0"},
		// node.Config's validation, with the flag named.
		{append(local, "--name", ""), "Name is --name"},
		{[]string{"--voters", "a", "--bind", "localhost:0"}, "BindAddr is --bind"},
		{[]string{"--voters", "a", "--bind", "127.0.0.1:70000"}, "BindPort is --bind"},
		{[]string{"--voters", "a,a", "--bind", "127.0.0.1:0"}, "Voters is --voters"},
		{append(local, "--keyfile", key20), "SecretKey is --keyfile"},
		{append(local, "--cluster", "no spaces"), "ClusterID is --cluster"},
		{append(local, "--new-cluster", "--restored"), "NewCluster is --new-cluster"},
		{append(local, "--join-timeout", "-1s"), "JoinTimeout is --join-timeout"},
		{append(local, "--ttl", "1m", "--max-ttl", "30s"), "DefaultTTL is --ttl, MaxTTL is --max-ttl"},
		{append(local, "--ttl", "1ms"), "DefaultTTL 1ms"},
		{append(local, "--max-ttl", "-1s"), "MaxTTL is --max-ttl"},
	} {
		data := filepath.Join(dir, "data")
		args := append([]string{"agent", "--http", "127.0.0.1:0", "--data-dir", data}, tc.args...)
		var out, errb bytes.Buffer
		code := runMain(args, &out, &errb)
		if code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), tc.want) || strings.Contains(errb.String(), "invalid config") {
			t.Errorf("agent %q: exit %d, stdout %q, stderr %q; want 2 and %q, without the package prefixes", tc.args, code, out.String(), errb.String(), tc.want)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Fatalf("agent %q: the refused start left the data dir (%v)", tc.args, err)
		}
	}
	// A required flag may come from its variable.
	t.Setenv("TENURE_VOTERS", "a")
	var out, errb bytes.Buffer
	if code := runMain([]string{"agent", "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0", "--name", ""}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "Name is --name") {
		t.Errorf("--voters from $TENURE_VOTERS: exit %d, stderr %q; want 2 for --name only", code, errb.String())
	}
}

// nodeConfigError drops the package prefixes and names the flag behind
// every field a node error names, whole words only.
func TestNodeConfigError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: %w", node.ErrConfig, fmt.Errorf("%w: DefaultTTL 1ms outside [MinTTL 50ms, MaxTTL 1m0s]", protocol.ErrConfig)),
			"DefaultTTL 1ms outside [MinTTL 50ms, MaxTTL 1m0s] (DefaultTTL is --ttl, MaxTTL is --max-ttl)"},
		{fmt.Errorf("%w: ClusterID %q: use 1 to 64 letters", node.ErrConfig, "a b"),
			`ClusterID "a b": use 1 to 64 letters (ClusterID is --cluster)`},
		{fmt.Errorf("%w: nothing a flag sets", node.ErrConfig), "nothing a flag sets"},
	} {
		if got := nodeConfigError(tc.err); got != tc.want {
			t.Errorf("nodeConfigError(%q)\n = %q\nwant %q", tc.err, got, tc.want)
		}
	}
}

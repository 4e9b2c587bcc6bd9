package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
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

// TestHelpAndUsageErrors runs every command of this file set with --help
// (exit 0, every flag and its variable on stdout) and with a bad flag
// (exit 2, a message naming it).
func TestHelpAndUsageErrors(t *testing.T) {
	for _, cmd := range []string{"agent", "lock", "status", "demo", "watch"} {
		var out, errb bytes.Buffer
		if code := runMain([]string{cmd, "--help"}, &out, &errb); code != 0 {
			t.Fatalf("%s --help: exit %d", cmd, code)
		}
		if !strings.Contains(out.String(), "Usage: tenure "+cmd) || !strings.Contains(out.String(), "[$TENURE_") {
			t.Fatalf("%s --help printed %q", cmd, out.String())
		}
		out.Reset()
		if code := runMain([]string{"help", cmd}, &out, &errb); code != 0 || !strings.Contains(out.String(), "Usage: tenure "+cmd) {
			t.Fatalf("tenure help %s: exit %d, %q", cmd, code, out.String())
		}
		errb.Reset()
		if code := runMain([]string{cmd, "--no-such-flag"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no-such-flag") {
			t.Fatalf("%s --no-such-flag: exit %d, stderr %q", cmd, code, errb.String())
		}
	}
}

// TestAgentRefusesUnsafeConfig checks the agent's refusals: each exits 2
// with a message naming the flag.
func TestAgentRefusesUnsafeConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "a"}, "--voters"},
		{[]string{"--voters", "a", "--name", ""}, "--name"},
		{[]string{"--voters", "a"}, "--keyfile"}, // default bind 0.0.0.0 without a key
		{[]string{"--voters", "a", "--bind", "127.0.0.1:0", "--http", "0.0.0.0:0"}, "--http-token-file"},
		{[]string{"--voters", "a", "--bind", "127.0.0.1:0", "--keyfile", dir + "/missing"}, "--keyfile"},
		{[]string{"--voters", "a", "--bind", "localhost:0"}, "--bind"},
		{[]string{"--voters", "a", "--bind", "127.0.0.1:0", "--log-format", "xml"}, "--log-format"},
		{[]string{"--voters", "a", "--bind", "127.0.0.1:0", "--log-level", "loud"}, "--log-level"},
		{[]string{"--voters", "a", "--bind", "127.0.0.1:0", "--ttl", "1m", "--max-ttl", "30s"}, "--ttl"},
		{[]string{"--voters", "a", "--bind", "127.0.0.1:0", "--ttl", "1ms"}, "DefaultTTL"},
	} {
		var out, errb bytes.Buffer
		code := runMain(append([]string{"agent", "--http", "127.0.0.1:0"}, tc.args...), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("agent %q: exit %d, stderr %q; want 2 naming %s", tc.args, code, errb.String(), tc.want)
		}
	}
}

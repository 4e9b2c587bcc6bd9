package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionText checks what tenure version prints from a build's
// information: the module version, the commit with its time and a
// modified tree, and the mutants line only in a mutants build.
func TestVersionText(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Path: "github.com/tenure-dev/tenure", Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: commit}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	v := readBuildVersion(bi, true)
	text := v.String()
	for _, want := range []string{"tenure (devel)\n", "commit  " + commit + " (modified", "time    2026-01-02T03:04:05Z", "go      go1.99", "wire    version "} {
		if !strings.Contains(text, want) {
			t.Errorf("version text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "mutants") {
		t.Errorf("a normal build mentions mutants:\n%s", text)
	}
	v.mutants = true
	if !strings.Contains(v.String(), "mutants true") {
		t.Errorf("a mutants build does not say so:\n%s", v.String())
	}
	bi.Settings[2].Value = "false"
	bi.Main.Version = "v1.2.3"
	if text := readBuildVersion(bi, true).String(); strings.Contains(text, "modified") || !strings.HasPrefix(text, "tenure v1.2.3\n") {
		t.Errorf("clean v1.2.3 build:\n%s", text)
	}
	if text := readBuildVersion(nil, false).String(); !strings.Contains(text, "commit  unknown") {
		t.Errorf("no build info:\n%s", text)
	}
}

// TestVersionCommands checks that tenure --version and tenure version
// print the same text, and that arguments are refused.
func TestVersionCommands(t *testing.T) {
	var a, b, errb bytes.Buffer
	if runMain([]string{"--version"}, &a, &errb) != 0 || runMain([]string{"version"}, &b, &errb) != 0 {
		t.Fatalf("exit not 0: %s", errb.String())
	}
	if a.String() != b.String() || !strings.HasPrefix(a.String(), "tenure ") || !strings.Contains(a.String(), "\n  commit  ") {
		t.Fatalf("--version %q, version %q", a.String(), b.String())
	}
	if code := runMain([]string{"version", "extra"}, &a, &errb); code != 2 {
		t.Fatalf("version extra: exit %d, want 2", code)
	}
}

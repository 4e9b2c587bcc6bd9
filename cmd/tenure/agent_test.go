package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
)

// A key or token file that other users may write is refused, with the
// file and its mode named, also through a symbolic link; one others may
// only read is served with a warning.
func TestAgentRefusesWritableSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // not subject to the umask
			t.Fatal(err)
		}
		return p
	}
	key := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" // 32 zero bytes
	for _, tc := range []struct {
		flag, file string
		mode       os.FileMode
		link       bool
	}{
		{"--keyfile", "key-world", 0o666, false},
		{"--keyfile", "key-group", 0o620, false},
		{"--keyfile", "key-linked", 0o602, true},
		{"--http-token-file", "token-world", 0o646, false},
		{"--http-token-file", "token-linked", 0o660, true},
	} {
		content := key
		if tc.flag == "--http-token-file" {
			content = "s3cret"
		}
		p := write(tc.file, content, tc.mode)
		if tc.link {
			l := filepath.Join(dir, tc.file+".link")
			if err := os.Symlink(p, l); err != nil {
				t.Fatal(err)
			}
			p = l
		}
		err := checkAgentArgs(t, tc.flag, p)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if err == nil || !strings.Contains(msg, tc.flag+" "+p) || !strings.Contains(msg, "mode "+octal(tc.mode)) {
			t.Errorf("%s %s (mode %s): %v; want an error naming the file and its mode", tc.flag, p, octal(tc.mode), err)
		}
		if tc.link && !strings.Contains(msg, "a link to "+filepath.Join(dir, tc.file)) {
			t.Errorf("%s through a link: %q does not name the file linked to", tc.flag, msg)
		}
	}
	// Readable by others: accepted, with a warning.
	p := write("token-readable", "s3cret", 0o644)
	b, warnings, err := readSecretFile("--http-token-file", p)
	if err != nil || string(b) != "s3cret" || len(warnings) != 1 || !strings.Contains(warnings[0], "0644") {
		t.Fatalf("a token file of mode 0644: %q %q %v; want it read, with one warning naming the mode", b, warnings, err)
	}
	p = write("token-private", "s3cret", 0o600)
	if b, warnings, err := readSecretFile("--http-token-file", p); err != nil || string(b) != "s3cret" || len(warnings) != 0 {
		t.Fatalf("a token file of mode 0600: %q %q %v; want it read without warning", b, warnings, err)
	}
}

// checkAgentArgs parses tenure agent's flags (a loopback setup plus args)
// and checks them, as runAgent does before starting anything.
func checkAgentArgs(t *testing.T, args ...string) error {
	t.Helper()
	var o agentOpts
	f := newAgentFlags(&o)
	if err := f.Parse(append([]string{"--voters", "a", "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0"}, args...)); err != nil {
		t.Fatalf("flags %q: %v", args, err)
	}
	return o.check()
}

func octal(m os.FileMode) string {
	const digits = "01234567"
	p := m.Perm()
	return string([]byte{'0', digits[p>>6&7], digits[p>>3&7], digits[p&7]})
}

// The HTTP connection cap fits the open-file limit, keeping reservedFDs
// for gossip and storage; a limit that leaves too little is refused.
func TestConnCapFor(t *testing.T) {
	for _, tc := range []struct {
		want   int
		nofile uint64
		cap    int
	}{
		{1024, 1 << 20, 1024},
		{1024, 256, 256 - reservedFDs},
		{50, 256, 50},
		{1024, reservedFDs + minHTTPConns, minHTTPConns},
		{1024, 1<<64 - 1, 1024}, // unlimited
	} {
		got, err := connCapFor(tc.want, tc.nofile)
		if err != nil || got != tc.cap {
			t.Errorf("connCapFor(%d, %d) = %d, %v; want %d", tc.want, tc.nofile, got, err, tc.cap)
		}
	}
	if _, err := connCapFor(1024, reservedFDs+minHTTPConns-1); err == nil || !strings.Contains(err.Error(), "ulimit -n") {
		t.Errorf("a limit leaving too few descriptors: %v, want an error naming ulimit -n", err)
	}
}

// The HTTP limit flags are checked.
func TestAgentHTTPLimitFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--http-max-conns", "0"}, "--http-max-conns"},
		{[]string{"--http-max-watches", "-1"}, "--http-max-watches"},
		{[]string{"--http-max-holds", "0"}, "--http-max-holds"},
		{[]string{"--http-read-timeout", "0s"}, "--http-read-timeout"},
	} {
		if err := checkAgentArgs(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("agent %q: %v; want an error naming %s", tc.args, err, tc.want)
		}
	}
	if err := checkAgentArgs(t, "--http-max-conns", "10", "--http-max-watches", "5", "--http-max-holds", "5", "--http-read-timeout", "2s"); err != nil {
		t.Errorf("good limits refused: %v", err)
	}
}

// tenure status and tenure watch never print a name with an invisible or
// bidi character as it is: "a\u202eb" would display as "ab" reversed.
func TestNamesEscapedOnDisplay(t *testing.T) {
	const bidi = "invoice\u202efdp.exe"
	var out bytes.Buffer
	printStatus(&out, statusReport{
		Agent: "http://127.0.0.1:7947", Self: "n\u200b1",
		Members: []api.Member{{Name: "n\u200b1", Voter: true, Alive: true}},
		Leases:  []api.Grant{{Name: bidi, TokenStr: "5", Mode: "keepalive"}},
	})
	s := out.String()
	if strings.ContainsAny(s, "\u202e\u200b") || !strings.Contains(s, `"invoice\u202efdp.exe"`) || !strings.Contains(s, `"n\u200b1"`) {
		t.Fatalf("status printed invisible runes or did not escape them:\n%s", s)
	}
	line := describeChange(time.Now(), bidi, api.HolderHint{Node: "n\u200b1", Token: 5, RemainingMS: 1000, Value: "v\u202e"})
	if strings.ContainsAny(line, "\u202e\u200b") || !strings.Contains(line, `"invoice\u202efdp.exe"`) || !strings.Contains(line, `"n\u200b1"`) {
		t.Fatalf("watch printed invisible runes or did not escape them: %q", line)
	}
	if got := describeChange(time.Now(), "job", api.HolderHint{Vacant: true}); !strings.Contains(got, "  job: vacant") {
		t.Fatalf("a plain name is not shown as it is: %q", got)
	}
	// tenure watch refuses such a name, and dot-segments, before asking.
	for _, name := range []string{bidi, ".", ".."} {
		var out, errb bytes.Buffer
		if code := runMain([]string{"watch", "--agent", "http://127.0.0.1:1", name}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "lease name") {
			t.Errorf("tenure watch %q: exit %d, stderr %q; want 2 refusing the name", name, code, errb.String())
		}
	}
}

package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDemoShowsFailover runs the demo for a few seconds with a kill every
// two seconds and checks that it reports at least one failover, and that
// the fencing tokens it prints only go up (R12).
func TestDemoShowsFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real five-node cluster for seconds")
	}
	var out, errb bytes.Buffer
	code := runMain([]string{"demo", "--duration", "7s", "--kill-every", "2s", "--restart-after", "500ms"}, &out, &errb)
	text := out.String()
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, text, errb.String())
	}
	if !strings.Contains(text, "kill ") || !strings.Contains(text, "failover ") || !strings.Contains(text, "failovers: min") {
		t.Fatalf("no failover reported:\n%s", text)
	}
	var last uint64
	for _, m := range regexp.MustCompile(`holds "leader", token (\d+)`).FindAllStringSubmatch(text, -1) {
		tok, _ := strconv.ParseUint(m[1], 10, 64)
		if tok <= last {
			t.Fatalf("token %d after %d:\n%s", tok, last, text)
		}
		last = tok
	}
	if last == 0 {
		t.Fatalf("no grant reported:\n%s", text)
	}
}

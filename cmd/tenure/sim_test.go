package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenure-dev/tenure/sim"
)

func runSimArgs(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runMain(append([]string{"sim"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSimUsage(t *testing.T) {
	if code, out, _ := runSimArgs("--help"); code != 0 || !strings.Contains(out, "--seeds") {
		t.Fatalf("--help: exit %d, output %q", code, out)
	}
	for _, args := range [][]string{
		{"--faults", "bogus"},
		{"--delay", "5ms"},
		{"--delay", "9ms-1ms"},
		{"--seeds", "0"},
		{"--nodes", "0"},
		{"--loss", "1.5"},
		{"--quarantine", "-1s"},
		{"--no-such-flag"},
		{"stray"},
	} {
		code, _, errs := runSimArgs(args...)
		if code != 2 || errs == "" {
			t.Errorf("sim %v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
}

// TestSimJSON checks the report's fields and that a seed gives the same
// digest twice.
func TestSimJSON(t *testing.T) {
	run := func() map[string]any {
		code, out, errs := runSimArgs("--seed", "3", "--duration", "20s", "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s %s", code, out, errs)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		return m
	}
	m := run()
	for _, k := range []string{"seeds", "violations", "grants", "max_concurrent_holders", "availability",
		"failover_p50_ms", "failover_p99_ms", "messages_per_grant", "events", "events_per_sec", "trace_digest"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON report lacks %q", k)
		}
	}
	if v, ok := m["violations"].([]any); !ok || len(v) != 0 {
		t.Errorf("violations = %v, want an empty list", m["violations"])
	}
	if m["grants"].(float64) == 0 {
		t.Error("no grants")
	}
	if d := run()["trace_digest"]; d != m["trace_digest"] {
		t.Errorf("same seed, different digests: %v and %v", m["trace_digest"], d)
	}
}

// TestSimViolationReplays: a sweep that breaks R9 exits 1 and prints a
// replay command; running that command gives the same violation.
func TestSimViolationReplays(t *testing.T) {
	tl := filepath.Join(t.TempDir(), "tl.html")
	code, out, errs := runSimArgs("--seeds", "60", "--duration", "1m", "--quarantine", "0", "--crashes", "10", "--timeline", tl)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", code, out, errs)
	}
	line := replayArgs(t, out)
	if !strings.Contains(line, "--seed ") || !strings.Contains(line, "--quarantine 0s") || strings.Contains(line, "--seeds") {
		t.Fatalf("replay command %q", line)
	}
	checkReplay(t, out, line)
	page, err := os.ReadFile(tl)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("<svg")) || !bytes.Contains(page, []byte("VIOLATION")) || bytes.Contains(page, []byte("http://")) && !bytes.Contains(page, []byte(`xmlns="http://www.w3.org/2000/svg"`)) {
		t.Fatalf("timeline page does not look right (%d bytes)", len(page))
	}
}

// TestSimOperatorFlagsRefused: bad values of the operator and edge flags
// exit 2 with a message naming the flag, and run nothing.
func TestSimOperatorFlagsRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--old-voters", "5"}, "old-voters"},
		{[]string{"--old-voters", "-1"}, "old-voters"},
		{[]string{"--switched", "2"}, "switched"},
		{[]string{"--old-voters", "2", "--switched", "3"}, "switched"},
		{[]string{"--low-max-ttl", "2s"}, "low-max-ttl"},
		{[]string{"--restores", "-1"}, "restores"},
		{[]string{"--wipes", "-2"}, "wipes"},
		{[]string{"--agents", "8"}, "agents"},
		{[]string{"--edge-clients", "3"}, "edge clients"},
		{[]string{"--agents", "1", "--edge-delay", "5ms"}, "edge-delay"},
		{[]string{"--agents", "1", "--edge-delay", "9ms-1ms"}, "edge-delay"},
		{[]string{"--agents", "1", "--hold-share", "2"}, "hold share"},
		{[]string{"--agents", "1", "--agent-stops", "-1"}, "agent stops"},
	} {
		code, out, errs := runSimArgs(c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("sim %v: exit %d, stdout %q, stderr %q; want 2 and a message naming %q", c.args, code, out, errs, c.want)
		}
	}
}

// TestSimOperatorReport: a run with restores and wipes reports what the
// operator did, in the text summary and in the JSON report.
func TestSimOperatorReport(t *testing.T) {
	code, out, errs := runSimArgs("--seed", "3", "--duration", "30s", "--restores", "20", "--wipes", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	var m struct {
		Operator struct {
			Restores, Wipes int
			Unlearned       int `json:"opened_unlearned"`
		} `json:"operator"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if m.Operator.Restores == 0 || m.Operator.Wipes == 0 || m.Operator.Unlearned != 0 {
		t.Fatalf("operator = %+v: want restores and wipes, every restored voter taught the era", m.Operator)
	}
	code, out, _ = runSimArgs("--seed", "3", "--duration", "30s", "--restores", "20", "--wipes", "3")
	if code != 0 || !strings.Contains(out, "stale restores") {
		t.Fatalf("exit %d, summary lacks the operator row:\n%s", code, out)
	}
	if _, out, _ = runSimArgs("--seed", "3", "--duration", "20s"); strings.Contains(out, "stale restores") {
		t.Fatalf("a run without operator mistakes shows an operator row:\n%s", out)
	}
}

// TestSimReconfigReport: a run with voter changes says what became of
// them in the text summary, with the JSON report's counts; a run without
// them shows no such row.
func TestSimReconfigReport(t *testing.T) {
	args := []string{"--seed", "5", "--duration", "1m", "--reconfigs", "8"}
	code, out, errs := runSimArgs(append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	var m struct {
		Reconfig struct{ Started, Done int } `json:"reconfig"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if m.Reconfig.Started == 0 {
		t.Fatalf("reconfig = %+v: want changes started", m.Reconfig)
	}
	code, out, _ = runSimArgs(args...)
	want := fmt.Sprintf("%-18s %d started: %d done,", "voter changes", m.Reconfig.Started, m.Reconfig.Done)
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("exit %d, summary lacks %q:\n%s", code, want, out)
	}
	if _, out, _ = runSimArgs("--seed", "5", "--duration", "20s"); strings.Contains(out, "voter changes") {
		t.Fatalf("a run without voter changes shows their row:\n%s", out)
	}
}

// TestSimReplayCarriesOperatorFlags: the replay command of a violation
// found with operator and edge flags carries every one of them (boolean
// flags bare), and reruns the same violation.
func TestSimReplayCarriesOperatorFlags(t *testing.T) {
	args := []string{"--seeds", "60", "--duration", "1m", "--quarantine", "0", "--crashes", "10",
		"--restores", "6", "--wipes", "2", "--wipe-fresh", "--zombies", "--old-voters", "3",
		"--low-max-ttl", "500ms", "--agents", "2", "--edge-clients", "4", "--agent-stops", "3", "--edge-delay", "1ms-40ms"}
	code, out, errs := runSimArgs(args...)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", code, out, errs)
	}
	line := replayArgs(t, out)
	for _, want := range []string{"--restores 6", "--wipes 2", "--wipe-fresh", "--zombies", "--old-voters 3",
		"--low-max-ttl 500ms", "--agents 2", "--edge-clients 4", "--agent-stops 3", "--edge-delay 1ms-40ms", "--quarantine 0s"} {
		if !strings.Contains(line+" ", want+" ") {
			t.Errorf("replay %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "--wipe-fresh true") || strings.Contains(line, "--seeds") {
		t.Errorf("replay %q: boolean flags go bare, --seeds not at all", line)
	}
	checkReplay(t, out, line)
}

// checkReplay runs the replay command line printed by a failing sweep
// (whose output was out) and requires it to fail with the same violation.
func checkReplay(t *testing.T, out, line string) {
	t.Helper()
	code2, out2, _ := runSimArgs(strings.Fields(line)...)
	if code2 != 1 {
		t.Fatalf("replay %q: exit %d:\n%s", line, code2, out2)
	}
	headline := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "VIOLATION ") {
				return l
			}
		}
		return ""
	}
	if h := headline(out); h == "" || h != headline(out2) {
		t.Fatalf("the replay shows a different violation:\nsweep:  %q\nreplay: %q", h, headline(out2))
	}
}

// TestSimFlagsFromEnvironment: tenure sim reads TENURE_<FLAG> as every
// command does (the command line wins), a variable counts as given (it
// overrides the preset and goes into the replay command), and a bad
// variable or a bad value from one exits 2 naming it.
func TestSimFlagsFromEnvironment(t *testing.T) {
	t.Setenv("TENURE_FAULTS", "harsh")
	t.Setenv("TENURE_DUP", "0.25")
	t.Setenv("TENURE_LOSS", "0.5")
	var o simOpts
	f := newSimFlags(&o)
	var out, errb bytes.Buffer
	if code, ok := f.parse([]string{"--loss", "0.125"}, &out, &errb); !ok {
		t.Fatalf("parse: exit %d: %s", code, errb.String())
	}
	opts, err := o.options(f)
	if err != nil {
		t.Fatal(err)
	}
	harsh := sim.Preset(sim.FaultsHarsh)
	if opts.Faults.Loss != 0.125 || opts.Faults.Dup != 0.25 || opts.Faults.DelayMax != harsh.DelayMax {
		t.Fatalf("faults %+v: want the harsh preset from $TENURE_FAULTS, dup 0.25 from $TENURE_DUP, loss 0.125 from the command line", opts.Faults)
	}
	replay := simReplay(f, 7)
	for _, want := range []string{"--faults harsh", "--dup 0.25", "--loss 0.125"} {
		if !strings.Contains(replay+" ", want+" ") {
			t.Errorf("replay %q lacks %q", replay, want)
		}
	}

	for env, val := range map[string]string{"TENURE_SEEDS": "many", "TENURE_FAULTS": "bogus"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			code, stdout, errs := runSimArgs("--duration", "1s")
			want := env
			if env == "TENURE_FAULTS" {
				want = `faults "bogus"` // a value the flag takes but the options refuse
			}
			if code != 2 || stdout != "" || !strings.Contains(errs, want) {
				t.Fatalf("%s=%s: exit %d, stdout %q, stderr %q; want 2 naming %s", env, val, code, stdout, errs, want)
			}
		})
	}
}

// replayArgs returns the arguments of the replay command the sim printed
// after "Replay: go run ./cmd/tenure sim ", failing the test if there is none.
func replayArgs(t *testing.T, out string) string {
	t.Helper()
	const prefix = "Replay: go run ./cmd/tenure sim "
	i := strings.Index(out, prefix)
	if i < 0 {
		t.Fatalf("no replay command in:\n%s", out)
	}
	line := out[i+len(prefix):]
	return line[:strings.IndexByte(line, '\n')]
}

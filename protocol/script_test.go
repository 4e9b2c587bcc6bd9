package protocol

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Golden scripts, in the style of etcd raft's interaction tests and
// datadriven files. Each file under testdata/scripts (scenarios) and
// testdata/rules (one rule each, named after it) is a sequence of blocks:
//
//	# a comment
//	command arg key=value
//	----
//	the output the command must print
//	(ends at a blank line)
//
// The runner executes every command against an in-test cluster (the
// harness of harness_test.go: real machines, the real wire codec, a message
// queue the script delivers, drops, duplicates or holds back; nodes in the
// voter list that are not started are played by the script itself, which
// sends them what it likes with send) and compares each command's output
// with the expected one. The first difference fails the test, naming the
// file and line. After an intended behaviour change, regenerate the
// expected output with
//
//	go test ./protocol -run 'TestScripts|TestRules' -rewrite
//
// and review the diff. The commands, one handler each, are listed with
// their usage in scriptCommands (script_cmd_*_test.go); `help` in a script
// prints them. A bad command line (unknown command, option or node, a
// value that does not parse) stops the script with its file and line. A
// header line "# weakened by: R5-replace-live" names a weakening the
// script must catch (script_mutants_test.go).
var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/scripts and testdata/rules")

// TestScripts runs the scenario scripts: several rules at work together.
func TestScripts(t *testing.T) { runScriptDir(t, "testdata/scripts") }

// TestRules runs the rule scripts: one file per rule check, named after the
// rule (see RULES.md).
func TestRules(t *testing.T) { runScriptDir(t, "testdata/rules") }

func runScriptDir(t *testing.T, dir string) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in %s: %v", dir, err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			if mismatch := runScript(t, f, nil); mismatch != "" {
				t.Error(mismatch)
				t.Log("after an intended change: go test ./protocol -run 'TestScripts|TestRules' -rewrite, then review the diff")
			}
		})
	}
}

// block is one command of a script with the comments before it and the
// output it must print.
type block struct {
	comments []string
	cmd      string
	line     int
	want     []string
}

func parseScript(t tb, path string) []block {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v", err)
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	var out []block
	var cur block
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "#"):
			cur.comments = append(cur.comments, l)
		case strings.TrimSpace(l) == "":
			if len(cur.comments) > 0 {
				cur.comments = append(cur.comments, "")
			}
		default:
			cur.cmd, cur.line = l, i+1
			if i+1 >= len(lines) || lines[i+1] != "----" {
				t.Fatalf("%s:%d: command %q without a ---- line after it", path, i+1, l)
			}
			i += 2
			for ; i < len(lines) && lines[i] != ""; i++ {
				cur.want = append(cur.want, lines[i])
			}
			out = append(out, cur)
			cur = block{}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no commands", path)
	}
	return out
}

func writeScript(t tb, path string, blocks []block) {
	t.Helper()
	var sb strings.Builder
	for i, b := range blocks {
		if i > 0 {
			sb.WriteString("\n")
		}
		for _, c := range b.comments {
			sb.WriteString(c + "\n")
		}
		sb.WriteString(b.cmd + "\n----\n")
		for _, w := range b.want {
			sb.WriteString(w + "\n")
		}
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
}

// runScript runs the script at path with the given weakenings switched on
// in every machine it starts, and returns the first difference between
// what a command printed and what the script expects ("" if none). With
// -rewrite (and no weakenings) it writes the output it got instead.
func runScript(t tb, path string, weak []Weakening) (mismatch string) {
	t.Helper()
	blocks := parseScript(t, path)
	s := &script{t: t, path: path, weak: weak}
	update := *rewrite && len(weak) == 0
	for i := range blocks {
		b := &blocks[i]
		got := s.exec(b.line, b.cmd)
		if len(got) == 0 {
			got = []string{"ok"}
		}
		if update {
			b.want = got
			continue
		}
		if !slices.Equal(got, b.want) {
			// Later output follows from this one: stop at the first.
			return fmt.Sprintf("%s:%d: %s\n--- got\n%s\n--- want\n%s", path, b.line, b.cmd, strings.Join(got, "\n"), strings.Join(b.want, "\n"))
		}
	}
	if update {
		writeScript(t, path, blocks)
	}
	return ""
}

// scriptError is a bad command line: an unknown command, a missing or
// unknown argument, a value that does not parse, a node that does not
// exist. The argument helpers panic with it; exec reports it with the
// script's file and line.
type scriptError struct{ msg string }

func (s *script) failf(format string, args ...any) {
	panic(scriptError{fmt.Sprintf(format, args...)})
}

// exec runs one command line and returns what it printed.
func (s *script) exec(line int, text string) (out []string) {
	s.t.Helper()
	s.out = nil
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(scriptError)
			if !ok {
				panic(r)
			}
			s.t.Fatalf("%s:%d: %s: %s", s.path, line, text, e.msg)
		}
	}()
	c := s.parse(text)
	if c.name != "nodes" && c.name != "help" && s.h == nil {
		s.failf("no cluster yet: the first command must be nodes")
	}
	scriptCommands[c.name].run(s, c)
	s.dropPlayed()
	return s.out
}

// parse splits a command line into its name, positional arguments, bare
// words and key=value options, and checks them against the command's
// table entry.
func (s *script) parse(text string) command {
	f := strings.Fields(text)
	spec, ok := scriptCommands[f[0]]
	if !ok {
		s.failf("unknown command %q (known: %s)", f[0], strings.Join(commandNames(), " "))
	}
	c := command{name: f[0], opt: map[string]string{}, words: map[string]bool{}}
	for _, a := range f[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			if !slices.Contains(spec.keys, k) {
				s.failf("unknown option %q (usage: %s)", k, spec.usage)
			}
			c.opt[k] = v
		} else if slices.Contains(spec.words, a) {
			c.words[a] = true
		} else {
			c.pos = append(c.pos, a)
		}
	}
	if len(c.pos) < spec.minPos || (spec.maxPos >= 0 && len(c.pos) > spec.maxPos) {
		s.failf("wrong number of arguments %v (usage: %s)", c.pos, spec.usage)
	}
	return c
}

// command is one parsed script line.
type command struct {
	name  string
	pos   []string          // positional arguments, in order
	words map[string]bool   // bare flags the command knows, e.g. wait
	opt   map[string]string // key=value options
}

// scriptCommand is one entry of the command table: how to call it and its
// handler.
type scriptCommand struct {
	usage          string
	minPos, maxPos int      // positional arguments; maxPos -1: any number
	words          []string // bare flags it takes
	keys           []string // key=value options it takes
	run            func(s *script, c command)
}

// scriptCommands is the command table: one handler per command. The
// handlers are grouped by what they touch: the cluster and its nodes
// (script_cmd_nodes_test.go), the network and time
// (script_cmd_net_test.go), and what the nodes hold and how the output is
// printed (script_cmd_state_test.go).
var scriptCommands map[string]scriptCommand

func init() {
	scriptCommands = map[string]scriptCommand{
		"help": {usage: "help", run: cmdHelp},

		"nodes":           {usage: "nodes NODE... [voters=a,b,c] [maxttl=5s] [skew=a:3s,x:-1h] [oneround=on]", minPos: 1, maxPos: -1, keys: []string{"voters", "maxttl", "skew", "oneround"}, run: cmdNodes},
		"acquire":         {usage: "acquire NODE NAME [wait] [ttl=1s] [value=V]", minPos: 2, maxPos: 2, words: []string{"wait"}, keys: []string{"ttl", "value"}, run: cmdAcquire},
		"release":         {usage: "release NODE NAME [token=ERA.ROUND]", minPos: 2, maxPos: 2, keys: []string{"token"}, run: cmdEndTenure},
		"abandon":         {usage: "abandon NODE NAME [token=ERA.ROUND]", minPos: 2, maxPos: 2, keys: []string{"token"}, run: cmdEndTenure},
		"cancel":          {usage: "cancel NODE NAME", minPos: 2, maxPos: 2, run: cmdCancel},
		"query":           {usage: "query NODE NAME", minPos: 2, maxPos: 2, run: cmdQuery},
		"crash":           {usage: "crash NODE", minPos: 1, maxPos: 1, run: cmdCrash},
		"restart-crashed": {usage: "restart-crashed NODE [era=N] [boot=N]", minPos: 1, maxPos: 1, keys: []string{"era", "boot"}, run: cmdRestartCrashed},
		"restart-fresh":   {usage: "restart-fresh NODE [boot=N]", minPos: 1, maxPos: 1, keys: []string{"boot"}, run: cmdRestartFresh},
		"shutdown":        {usage: "shutdown NODE", minPos: 1, maxPos: 1, run: cmdShutdown},
		"restart-clean":   {usage: "restart-clean NODE [boot=N]", minPos: 1, maxPos: 1, keys: []string{"boot"}, run: cmdRestartClean},

		"deliver": {usage: "deliver [type=T] [from=N] [to=N]", keys: filterKeys, run: cmdDeliver},
		"drop":    {usage: "drop [type=T] [from=N] [to=N]", keys: filterKeys, run: cmdDrop},
		"dup":     {usage: "dup [type=T] [from=N] [to=N]", keys: filterKeys, run: cmdDup},
		"stash":   {usage: "stash [type=T] [from=N] [to=N]", keys: filterKeys, run: cmdStash},
		"unstash": {usage: "unstash", run: cmdUnstash},
		"queue":   {usage: "queue", run: cmdQueue},
		"tick":    {usage: "tick DURATION [quiet]", minPos: 1, maxPos: 1, words: []string{"quiet"}, run: cmdTick},
		"run":     {usage: "run DURATION", minPos: 1, maxPos: 1, run: cmdRun},
		"pause":   {usage: "pause DURATION", minPos: 1, maxPos: 1, run: cmdPause},
		"send":    {usage: sendUsage, minPos: 2, maxPos: 4, words: []string{"stale"}, keys: sendKeys, run: cmdSend},

		"holders": {usage: "holders NAME", minPos: 1, maxPos: 1, run: cmdHolders},
		"era":     {usage: "era NODE", minPos: 1, maxPos: 1, run: cmdEra},
		"wake":    {usage: "wake NODE", minPos: 1, maxPos: 1, run: cmdWake},
		"config":  {usage: "config NODE [ttl=D]", minPos: 1, maxPos: 1, keys: []string{"ttl"}, run: cmdConfig},
	}
}

func commandNames() []string {
	var names []string
	for n := range scriptCommands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// cmdHelp prints the usage of every command.
func cmdHelp(s *script, _ command) {
	for _, n := range commandNames() {
		s.printf("%s", scriptCommands[n].usage)
	}
}

// fatalRecorder stands in for *testing.T where a test expects the runner
// to give up: Fatalf panics with the message, which the test recovers.
type fatalRecorder struct{}

type recordedFatal string

func (fatalRecorder) Helper() {}
func (fatalRecorder) Fatalf(format string, args ...any) {
	panic(recordedFatal(fmt.Sprintf(format, args...)))
}

// TestScriptBadCommands checks that a bad command line stops the script
// with its file, line and what is wrong, before it changes anything.
func TestScriptBadCommands(t *testing.T) {
	cases := []struct{ line, want string }{
		{"frobnicate a", `unknown command "frobnicate"`},
		{"tick", "wrong number of arguments"},
		{"tick 1s 2s", "wrong number of arguments"},
		{"tick soon", `bad duration "soon"`},
		{"tick -1s", "time does not run backwards"},
		{"acquire a L colour=red", `unknown option "colour"`},
		{"acquire q L", `no node "q"`},
		{"deliver type=prepar", `unknown message type "prepar"`},
		{"send a-b prepare L 1.1@a", `bad route "a-b"`},
		{"send x->a prepare L 1.1", `bad ballot "1.1"`},
		{"send x->a prepare L", "wrong arguments"},
		{"send x->a reject L", "reject needs promised=BALLOT"},
		{"send b->a promise L", "a sent no Prepare or Propose for L"},
		{"restart-clean a", "a was not shut down cleanly"},
		{"restart-crashed a", "a is running"},
	}
	for i, c := range cases {
		path := fmt.Sprintf("bad%d.txt", i)
		msg := func() (msg string) {
			defer func() {
				r := recover()
				f, ok := r.(recordedFatal)
				if !ok && r != nil {
					panic(r)
				}
				msg = string(f)
			}()
			s := &script{t: fatalRecorder{}, path: path}
			s.exec(1, "nodes a voters=a,b,c")
			s.exec(5, c.line)
			return ""
		}()
		want := fmt.Sprintf("%s:5: %s: ", path, c.line)
		if !strings.HasPrefix(msg, want) || !strings.Contains(msg, c.want) {
			t.Errorf("%q: got error %q, want %q followed by %q", c.line, msg, want, c.want)
		}
	}
	// Before any nodes command, nothing runs.
	s := &script{t: fatalRecorder{}, path: "x.txt"}
	func() {
		defer func() {
			if f, _ := recover().(recordedFatal); !strings.Contains(string(f), "x.txt:3: tick 1s: no cluster yet") {
				t.Errorf("tick before nodes: %q", f)
			}
		}()
		s.exec(3, "tick 1s")
	}()
}

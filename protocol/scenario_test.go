package protocol

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Golden scenario scripts, in the style of etcd raft's interaction tests.
// Each file under testdata/scripts is a sequence of blocks:
//
//	# a comment
//	command arg key=value
//	----
//	the output the command must print
//	(ends at a blank line)
//
// The test runs every command against an in-test cluster (the harness of
// harness_test.go: real machines, real wire codec, a message queue the
// script delivers, drops, duplicates or holds back) and compares the
// output. After an intended behaviour change, regenerate the expected
// output with:
//
//	go test ./protocol -run TestScripts -rewrite
//
// and review the diff. Commands:
//
//	nodes a b c x [voters=a,b,c] [maxttl=5s] [skew=a:3s,x:-1h]
//	acquire x L [wait] [ttl=1s]        release x L     abandon x L    cancel x L
//	query x L
//	deliver [type=T] [from=N] [to=N]   without a filter: until the queue is empty;
//	                                   with one: the matching messages queued now
//	drop [type=T] [from=N] [to=N]      dup [...]       stash [...]    unstash
//	tick 10ms                          time passes, timers fire, nothing is delivered
//	run 1s                             time passes and every message is delivered
//	crash a    restart-crashed a       shutdown a      restart-clean a
//	holders L                          each node's own view (Holding) and each voter's slot
//	queue                              the messages in flight
var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/scripts")

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/scripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

type block struct {
	comments []string
	cmd      string
	line     int
	want     []string
}

func parseScript(t *testing.T, path string) []block {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
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
				t.Fatalf("%s:%d: command without ---- line", path, i+1)
			}
			i += 2
			for ; i < len(lines) && lines[i] != ""; i++ {
				cur.want = append(cur.want, lines[i])
			}
			out = append(out, cur)
			cur = block{}
		}
	}
	return out
}

func writeScript(t *testing.T, path string, blocks []block) {
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
		t.Fatal(err)
	}
}

func runScript(t *testing.T, path string) {
	blocks := parseScript(t, path)
	s := &script{t: t}
	failed := false
	for i := range blocks {
		b := &blocks[i]
		got := s.exec(b.cmd)
		if len(got) == 0 {
			got = []string{"ok"}
		}
		if *rewrite {
			b.want = got
			continue
		}
		if !slices.Equal(got, b.want) {
			t.Errorf("%s:%d: %s\n--- got\n%s\n--- want\n%s", path, b.line, b.cmd, strings.Join(got, "\n"), strings.Join(b.want, "\n"))
			failed = true
			break // later output follows from this one
		}
	}
	if *rewrite {
		writeScript(t, path, blocks)
	} else if failed {
		t.Log("after an intended change: go test ./protocol -run TestScripts -rewrite, then review the diff")
	}
}

// script is the interpreter's state: a harness and what the script holds
// back.
type script struct {
	t     *testing.T
	h     *harness
	out   []string
	start Time
	stash []hmsg
	clean map[string][]byte // encoded State of cleanly stopped nodes
}

func (s *script) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf(format, args...)
}

func (s *script) printf(format string, args ...any) {
	s.out = append(s.out, fmt.Sprintf(format, args...))
}

func (s *script) elapsed() time.Duration { return s.h.now.Sub(s.start) }

// ballot formats a ballot briefly; tok a token.
func tok(t uint64) string {
	e, r := TokenBallot(t)
	return fmt.Sprintf("%d.%d", e, r)
}

func info(l LeaseInfo) string {
	if !l.Live() {
		return "open"
	}
	s := fmt.Sprintf("holder=%s rem=%v", l.Ballot, l.Remaining)
	if len(l.Value) > 0 {
		s += fmt.Sprintf(" value=%q", l.Value)
	}
	return s
}

func describe(m hmsg) string {
	head := fmt.Sprintf("%s->%s %s", m.from, m.to, m.msg.Type())
	switch x := m.msg.(type) {
	case *Prepare:
		return fmt.Sprintf("%s %s %s", head, x.Name, x.Ballot)
	case *Promise:
		return fmt.Sprintf("%s %s %s", head, x.Name, info(x.Holder))
	case *Reject:
		s := fmt.Sprintf("%s %s promised=%s", head, x.Name, x.Promised)
		if x.Holder.Live() {
			s += " " + info(x.Holder)
		}
		return s
	case *Propose:
		return fmt.Sprintf("%s %s %s ttl=%v", head, x.Name, x.Ballot, x.TTL)
	case *Accepted:
		return fmt.Sprintf("%s %s", head, x.Name)
	case *Release:
		return fmt.Sprintf("%s %s %s", head, x.Name, x.Ballot)
	case *Query:
		return fmt.Sprintf("%s %s", head, x.Name)
	case *QueryReply:
		return fmt.Sprintf("%s %s %s", head, x.Name, info(x.Holder))
	case *Vacant:
		return fmt.Sprintf("%s %s", head, x.Name)
	}
	return head
}

func (s *script) event(node string, e Event) {
	line := fmt.Sprintf("[+%v] %s: %s %s", s.elapsed(), node, e.Kind, e.Name)
	if e.Token != 0 {
		line += " tok=" + tok(e.Token)
	}
	if e.Deadline != 0 {
		line += fmt.Sprintf(" deadline=+%v", e.Deadline.Sub(s.h.local(s.h.nodes[node])))
	}
	if e.Holder.Live() || e.Kind == EventQuery {
		line += " " + info(e.Holder)
	}
	if e.Err != nil {
		line += " err=" + e.Err.Error()
	}
	s.printf("%s", line)
}

// args splits a command's arguments into positional ones and key=value
// options.
func args(fields []string) (pos []string, opt map[string]string) {
	opt = map[string]string{}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			opt[k] = v
		} else {
			pos = append(pos, f)
		}
	}
	return pos, opt
}

func (s *script) dur(v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil {
		s.fail("bad duration %q: %v", v, err)
	}
	return d
}

func (s *script) node(name string) *hnode {
	n := s.h.nodes[name]
	if n == nil {
		s.fail("no node %q", name)
	}
	return n
}

// filter matches queued messages by type, sender and destination.
func filter(opt map[string]string) func(hmsg) bool {
	return func(m hmsg) bool {
		return (opt["type"] == "" || opt["type"] == m.msg.Type().String()) &&
			(opt["from"] == "" || opt["from"] == m.from) &&
			(opt["to"] == "" || opt["to"] == m.to)
	}
}

// command is one script line: its name, positional arguments and
// key=value options.
type command struct {
	name string
	pos  []string
	opt  map[string]string
}

// scriptCommands holds one handler per script command (see the list at the
// top of this file).
var scriptCommands = map[string]func(s *script, c command){
	"nodes":           func(s *script, c command) { s.nodes(c.pos, c.opt) },
	"acquire":         (*script).acquire,
	"release":         (*script).endTenure,
	"abandon":         (*script).endTenure,
	"cancel":          (*script).cancel,
	"query":           (*script).query,
	"deliver":         func(s *script, c command) { s.deliver(c.opt) },
	"drop":            (*script).drop,
	"dup":             (*script).dup,
	"stash":           (*script).stashCmd,
	"unstash":         (*script).unstash,
	"tick":            func(s *script, c command) { s.h.advance(s.dur(c.pos[0])) },
	"run":             (*script).run,
	"crash":           (*script).crash,
	"restart-crashed": (*script).restartCrashed,
	"shutdown":        (*script).shutdown,
	"restart-clean":   (*script).restartClean,
	"holders":         func(s *script, c command) { s.holders(c.pos[0]) },
	"queue":           (*script).queue,
}

func (s *script) exec(line string) []string {
	s.out = nil
	f := strings.Fields(line)
	pos, opt := args(f[1:])
	if f[0] != "nodes" && s.h == nil {
		s.fail("%q before nodes", line)
	}
	run, ok := scriptCommands[f[0]]
	if !ok {
		s.fail("unknown command %q", line)
	}
	run(s, command{name: f[0], pos: pos, opt: opt})
	return s.out
}

func (s *script) acquire(c command) {
	n := s.node(c.pos[0])
	req := AcquireRequest{Name: c.pos[1], Wait: slices.Contains(c.pos, "wait")}
	if v := c.opt["ttl"]; v != "" {
		req.TTL = s.dur(v)
	}
	if v := c.opt["value"]; v != "" {
		req.Value = []byte(v)
	}
	if err := n.m.Acquire(s.h.local(n), req); err != nil {
		s.printf("error: %v", err)
	}
	s.h.collect(n)
}

// endTenure is release and abandon.
func (s *script) endTenure(c command) {
	n := s.node(c.pos[0])
	token, _, ok := n.m.Holding(c.pos[1])
	if !ok {
		s.printf("%s does not hold %s", c.pos[0], c.pos[1])
		return
	}
	var err error
	if c.name == "release" {
		err = n.m.Release(s.h.local(n), c.pos[1], token)
	} else {
		err = n.m.Abandon(s.h.local(n), c.pos[1], token)
	}
	if err != nil {
		s.printf("error: %v", err)
	}
	s.h.collect(n)
}

func (s *script) cancel(c command) {
	n := s.node(c.pos[0])
	n.m.Cancel(s.h.local(n), c.pos[1])
	s.h.collect(n)
}

func (s *script) query(c command) {
	n := s.node(c.pos[0])
	if _, err := n.m.Query(s.h.local(n), c.pos[1]); err != nil {
		s.printf("error: %v", err)
	}
	s.h.collect(n)
}

func (s *script) drop(c command) {
	for _, m := range s.h.take(filter(c.opt)) {
		s.printf("dropped %s", describe(m))
	}
}

func (s *script) dup(c command) {
	var q []hmsg
	match := filter(c.opt)
	for _, m := range s.h.queue {
		q = append(q, m)
		if match(m) {
			q = append(q, m)
			s.printf("duplicated %s", describe(m))
		}
	}
	s.h.queue = q
}

func (s *script) stashCmd(c command) {
	for _, m := range s.h.take(filter(c.opt)) {
		s.stash = append(s.stash, m)
		s.printf("stashed %s", describe(m))
	}
}

func (s *script) unstash(command) {
	s.h.queue = append(s.h.queue, s.stash...)
	s.printf("unstashed %d", len(s.stash))
	s.stash = nil
}

func (s *script) run(c command) {
	send := s.h.onSend
	s.h.onSend = nil // too many to print; events tell the story
	s.h.settle(s.dur(c.pos[0]), nil)
	s.h.onSend = send
}

func (s *script) crash(c command) {
	n := s.node(c.pos[0])
	n.m.Stop()
	n.down = true
}

func (s *script) restartCrashed(c command) {
	n := s.node(c.pos[0])
	s.h.start(c.pos[0], Start{Kind: StartCrashed, Era: n.era})
	s.printf("%s: era=%d quarantine=%v", c.pos[0], n.m.Era(), n.m.QuarantineUntil().Sub(s.h.local(n)))
}

func (s *script) shutdown(c command) {
	n := s.node(c.pos[0])
	raw, err := EncodeState(n.m.Snapshot(s.h.local(n)))
	if err != nil {
		s.fail("EncodeState: %v", err)
	}
	s.clean[c.pos[0]] = raw
	n.down = true
}

func (s *script) restartClean(c command) {
	st, err := DecodeState(s.clean[c.pos[0]])
	if err != nil {
		s.fail("DecodeState: %v", err)
	}
	s.h.start(c.pos[0], Start{Kind: StartClean, State: st})
	n := s.node(c.pos[0])
	s.printf("%s: era=%d quarantined=%v", c.pos[0], n.m.Era(), n.m.Quarantined(s.h.local(n)))
}

func (s *script) queue(command) {
	for _, m := range s.h.queue {
		s.printf("%s", describe(m))
	}
}

func (s *script) nodes(pos []string, opt map[string]string) {
	voters := pos
	if v := opt["voters"]; v != "" {
		voters = strings.Split(v, ",")
	}
	h := &harness{t: s.t, nodes: map[string]*hnode{}, enc: NewEncoder(), dec: NewDecoder(), events: map[string][]Event{}, now: 1_000_000_000}
	h.cfg = Config{Voters: voters}
	if v := opt["maxttl"]; v != "" {
		h.cfg.MaxTTL = s.dur(v)
	}
	s.h, s.start, s.clean = h, h.now, map[string][]byte{}
	skews := map[string]Time{}
	if v := opt["skew"]; v != "" {
		for _, kv := range strings.Split(v, ",") {
			k, d, _ := strings.Cut(kv, ":")
			skews[k] = Time(s.dur(d))
		}
	}
	for _, n := range pos {
		h.order = append(h.order, n)
		h.nodes[n] = &hnode{name: n, skew: skews[n]}
		h.start(n, Start{Kind: StartFresh})
	}
	h.onEvent = s.event
	h.onSend = func(m hmsg) { s.printf("sent %s", describe(m)) }
	cfg := h.nodes[pos[0]].m.Config()
	s.printf("voters=%v D_P(%v)=%v Q=%v", voters, cfg.DefaultTTL, cfg.AttemptDuration(cfg.DefaultTTL), cfg.Quarantine)
}

// deliver delivers queued messages, printing each with what it caused.
func (s *script) deliver(opt map[string]string) {
	h := s.h
	send := h.onSend
	h.onSend = nil // what a delivery causes shows in the next lines
	defer func() { h.onSend = send }()
	one := func(m hmsg) {
		n := h.nodes[m.to]
		if n.down {
			s.printf("%s (down: lost)", describe(m))
			return
		}
		s.printf("%s", describe(m))
		n.m.Step(h.local(n), m.from, m.msg)
		h.collect(n)
	}
	if len(opt) == 0 {
		for len(h.queue) > 0 {
			m := h.queue[0]
			h.queue = h.queue[1:]
			one(m)
		}
		return
	}
	for _, m := range h.take(filter(opt)) {
		one(m)
	}
}

func (s *script) holders(name string) {
	h := s.h
	for _, n := range h.order {
		nd := h.nodes[n]
		if nd.down {
			s.printf("%s: down", n)
			continue
		}
		now := h.local(nd)
		line := n + ":"
		if token, dl, ok := nd.m.Holding(name); ok {
			if now < dl {
				line += fmt.Sprintf(" holds tok=%s for %v", tok(token), dl.Sub(now))
			} else {
				line += fmt.Sprintf(" holding tok=%s PAST its deadline by %v", tok(token), now.Sub(dl))
			}
		} else if nd.m.Pending(name) {
			line += " pending"
		}
		if nd.m.IsVoter() {
			if sl := nd.m.slots[name]; sl != nil {
				line += fmt.Sprintf(" | promised=%s", sl.promised)
				if l := sl.info(now); l.Live() {
					line += " lease=" + info(l)
				}
			} else {
				line += " | no slot"
			}
			if nd.m.Quarantined(now) {
				line += " (quarantined)"
			}
		}
		s.printf("%s", line)
	}
}

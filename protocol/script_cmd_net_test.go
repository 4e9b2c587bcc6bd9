package protocol

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// The handlers of the commands that move messages and time: deliver, drop,
// dup, stash, unstash, queue, tick, run, and send (a message written by
// the script, from a node it plays).

// filterKeys are the options that select queued messages.
var filterKeys = []string{"type", "from", "to"}

// filter matches queued messages by type, sender and destination.
func filter(opt map[string]string) func(hmsg) bool {
	return func(m hmsg) bool {
		return (opt["type"] == "" || opt["type"] == m.msg.Type().String()) &&
			(opt["from"] == "" || opt["from"] == m.from) &&
			(opt["to"] == "" || opt["to"] == m.to)
	}
}

// checkFilter rejects a type name that no message has: a typo would
// otherwise match nothing, silently.
func (s *script) checkFilter(opt map[string]string) func(hmsg) bool {
	if t, ok := opt["type"]; ok {
		if _, known := msgTypeByName(t); !known {
			s.failf("unknown message type %q", t)
		}
	}
	return filter(opt)
}

func msgTypeByName(name string) (MsgType, bool) {
	for t := TypePrepare; t < typeEnd; t++ {
		if t.String() == name {
			return t, true
		}
	}
	return 0, false
}

// cmdDeliver delivers queued messages, printing each; what a delivery
// causes shows in the lines after it. Without a filter it delivers until
// the queue is empty; with one, the matching messages queued now.
func cmdDeliver(s *script, c command) {
	h := s.h
	match := s.checkFilter(c.opt)
	send := h.onSend
	h.onSend = nil
	defer func() { h.onSend = send }()
	one := func(m hmsg) {
		n := h.nodes[m.to]
		switch {
		case n == nil:
			s.printf("%s", describe(m)) // to a node the script plays
		case n.down:
			s.printf("%s (down: lost)", describe(m))
		default:
			s.printf("%s", describe(m))
			n.m.Step(h.local(n), m.from, m.msg)
			h.collect(n)
		}
	}
	if len(c.opt) == 0 {
		for len(h.queue) > 0 {
			m := h.queue[0]
			h.queue = h.queue[1:]
			one(m)
		}
		return
	}
	for _, m := range h.take(match) {
		one(m)
	}
}

func cmdDrop(s *script, c command) {
	for _, m := range s.h.take(s.checkFilter(c.opt)) {
		s.printf("dropped %s", describe(m))
	}
}

func cmdDup(s *script, c command) {
	var q []hmsg
	match := s.checkFilter(c.opt)
	for _, m := range s.h.queue {
		q = append(q, m)
		if match(m) {
			q = append(q, m)
			s.printf("duplicated %s", describe(m))
		}
	}
	s.h.queue = q
}

func cmdStash(s *script, c command) {
	for _, m := range s.h.take(s.checkFilter(c.opt)) {
		s.stash = append(s.stash, m)
		s.printf("stashed %s", describe(m))
	}
}

func cmdUnstash(s *script, _ command) {
	s.h.queue = append(s.h.queue, s.stash...)
	s.printf("unstashed %d", len(s.stash))
	s.stash = nil
}

func cmdQueue(s *script, _ command) {
	for _, m := range s.h.queue {
		s.printf("%s", describe(m))
	}
}

// cmdTick lets time pass: timers fire, nothing is delivered. With quiet,
// what the timers send (resends, mostly) is queued without being printed.
func cmdTick(s *script, c command) {
	d := s.dur(c.pos[0])
	if d < 0 {
		s.failf("time does not run backwards: %v", d)
	}
	send := s.h.onSend
	if c.words["quiet"] {
		s.h.onSend = nil
	}
	s.h.advance(d)
	s.h.onSend = send
}

// cmdRun lets time pass and delivers every message; only events print.
func cmdRun(s *script, c command) {
	d := s.dur(c.pos[0])
	if d < 0 {
		s.failf("time does not run backwards: %v", d)
	}
	send := s.h.onSend
	s.h.onSend = nil // too many to print; events tell the story
	s.h.settle(d, nil)
	s.h.onSend = send
}

// cmdPause moves true time on without calling Tick: a node whose event
// loop was paused handles its next inputs late, before its overdue timers.
func cmdPause(s *script, c command) {
	d := s.dur(c.pos[0])
	if d < 0 {
		s.failf("time does not run backwards: %v", d)
	}
	s.h.now = s.h.now.Add(d)
}

// dropPlayed removes from the queue the messages to nodes the script
// plays: they were printed when sent, and nothing can deliver them.
func (s *script) dropPlayed() {
	if s.h == nil {
		return
	}
	s.h.queue = slices.DeleteFunc(s.h.queue, func(m hmsg) bool { return s.h.nodes[m.to] == nil })
}

const sendUsage = "send FROM->TO TYPE [NAME] [BALLOT] [attempt=N] [ttl=D] [lockdelay=D] [value=V] " +
	"[promised=BALLOT] [holder=BALLOT rem=D] [id=N] [boot=N] [nonce=N] [stale] [seen=N] [era=N]"

var sendKeys = []string{"attempt", "ttl", "lockdelay", "value", "promised", "holder", "rem", "id", "boot", "nonce", "seen", "era"}

// cmdSend writes a message from a node the script plays (or any node: a
// forged or replayed datagram) and delivers it at once, through the wire
// codec and the receiver's identity check. An answer's attempt defaults
// to the receiver's last Prepare or Propose for the name, a HelloReply's
// nonce to its last Hello.
func cmdSend(s *script, c command) {
	from, to, ok := strings.Cut(c.pos[0], "->")
	if !ok || from == "" || to == "" {
		s.failf("bad route %q: want FROM->TO", c.pos[0])
	}
	n := s.up(to)
	typ, known := msgTypeByName(c.pos[1])
	if !known {
		s.failf("unknown message type %q", c.pos[1])
	}
	rest := c.pos[2:]
	arg := func(i int, what string) string {
		if i >= len(rest) {
			s.failf("%s needs %s", typ, what)
		}
		return rest[i]
	}
	name := func() string { return arg(0, "a lease name") }
	ballot := func() Ballot { return s.ballot(arg(1, "a ballot")) }
	wantPos := map[MsgType]int{TypePrepare: 2, TypePropose: 2, TypeRelease: 2, TypeHello: 0, TypeHelloReply: 0}
	if w, ok := wantPos[typ]; ok && len(rest) != w || !ok && len(rest) != 1 {
		s.failf("wrong arguments %v for %s (usage: %s)", rest, typ, sendUsage)
	}
	answer := func(name string) uint64 {
		if v, ok := c.opt["attempt"]; ok {
			return s.uint(v)
		}
		a, ok := s.attempt[to+"/"+name]
		if !ok {
			s.failf("%s sent no Prepare or Propose for %s: give attempt=N", to, name)
		}
		return a
	}
	request := func() uint64 {
		if v, ok := c.opt["attempt"]; ok {
			return s.uint(v)
		}
		return 1
	}
	var msg Message
	switch typ {
	case TypePrepare:
		msg = &Prepare{Name: name(), Ballot: ballot(), Attempt: request()}
	case TypePropose:
		p := &Propose{Name: name(), Ballot: ballot(), Attempt: request(), TTL: time.Second, Value: []byte(c.opt["value"])}
		if v, ok := c.opt["ttl"]; ok {
			p.TTL = s.dur(v)
		}
		if v, ok := c.opt["lockdelay"]; ok {
			p.LockDelay = s.dur(v)
		}
		if len(p.Value) == 0 {
			p.Value = nil
		}
		msg = p
	case TypePromise:
		msg = &Promise{Name: name(), Attempt: answer(name()), Holder: s.holder(c)}
	case TypeReject:
		v, ok := c.opt["promised"]
		if !ok {
			s.failf("reject needs promised=BALLOT")
		}
		msg = &Reject{Name: name(), Attempt: answer(name()), Promised: s.ballot(v), Holder: s.holder(c)}
	case TypeAccepted:
		msg = &Accepted{Name: name(), Attempt: answer(name())}
	case TypeRelease:
		msg = &Release{Name: name(), Ballot: ballot()}
	case TypeQuery:
		msg = &Query{Name: name(), ID: s.uint(orDefault(c.opt["id"], "1"))}
	case TypeVacant:
		msg = &Vacant{Name: name()}
	case TypeHello:
		msg = &Hello{Boot: s.uint(orDefault(c.opt["boot"], "0")), Nonce: s.uint(orDefault(c.opt["nonce"], "1"))}
	case TypeHelloReply:
		r := &HelloReply{Boot: s.uint(orDefault(c.opt["boot"], "0")), Stale: c.words["stale"], Seen: s.uint(orDefault(c.opt["seen"], "0")), Era: uint32(s.uint(orDefault(c.opt["era"], "0")))}
		if v, ok := c.opt["nonce"]; ok {
			r.Nonce = s.uint(v)
		} else if r.Nonce, ok = s.nonce[to]; !ok {
			s.failf("%s sent no Hello: give nonce=N", to)
		}
		msg = r
	default:
		s.failf("send cannot write a %s", typ)
	}
	s.wire(from, n, msg)
}

// wire carries msg from the script to node n through the codec and n's
// identity check, and prints it and what it caused.
func (s *script) wire(from string, n *hnode, msg Message) {
	var raw [][]byte
	if err := s.h.enc.Encode(Header{From: from, ID: n.m.ID()}, []Message{msg}, func(b []byte) { raw = append(raw, slices.Clone(b)) }); err != nil {
		s.failf("encode: %v", err)
	}
	for _, b := range raw {
		hdr, msgs, err := s.h.dec.Decode(b)
		if err != nil {
			s.failf("decode: %v", err)
		}
		if !n.m.Admit(hdr) {
			s.printf("%s->%s refused (identity)", from, n.name)
			continue
		}
		for _, m := range msgs {
			s.printf("%s", describe(hmsg{from: hdr.From, to: n.name, msg: m}))
			n.m.Step(s.h.local(n), hdr.From, m)
			s.h.collect(n)
		}
	}
}

// holder is the LeaseInfo of holder=BALLOT rem=D (none without holder=).
func (s *script) holder(c command) LeaseInfo {
	v, ok := c.opt["holder"]
	if !ok {
		if _, ok := c.opt["rem"]; ok {
			s.failf("rem= without holder=")
		}
		return LeaseInfo{}
	}
	b := s.ballot(v)
	rem, ok := c.opt["rem"]
	if !ok {
		s.failf("holder= needs rem=DURATION")
	}
	return LeaseInfo{Owner: b.Node, Ballot: b, Remaining: s.dur(rem)}
}

// ballot parses era.round@node, as Ballot.String prints it.
func (s *script) ballot(v string) Ballot {
	er, node, ok := strings.Cut(v, "@")
	e, r, ok2 := strings.Cut(er, ".")
	if !ok || !ok2 || node == "" {
		s.failf("bad ballot %q: want ERA.ROUND@NODE", v)
	}
	era, err1 := strconv.ParseUint(e, 10, 32)
	round, err2 := strconv.ParseUint(r, 10, 32)
	if err1 != nil || err2 != nil {
		s.failf("bad ballot %q: want ERA.ROUND@NODE", v)
	}
	return Ballot{Era: uint32(era), Round: uint32(round), Node: node}
}

func (s *script) uint(v string) uint64 {
	u, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		s.failf("bad number %q: %v", v, err)
	}
	return u
}

// orDefault is v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

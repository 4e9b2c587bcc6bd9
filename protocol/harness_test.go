package protocol

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// harness is a tiny deterministic cluster for scenario tests: each node has
// a machine and a local clock offset; messages sit in a queue until the test
// delivers them, in order, through the real wire codec.
type harness struct {
	t      tb
	cfg    Config
	now    Time // true time; each node's local clock = now + skew
	nodes  map[string]*hnode
	order  []string
	queue  []hmsg
	log    []string
	enc    *Encoder
	dec    *Decoder
	events map[string][]Event
	// wire, if set, sees every datagram the harness carries.
	wire func(from, to string, b []byte)
	// onEvent and onSend, if set, see every event and every queued message
	// as the harness collects them, in order.
	onEvent func(node string, e Event)
	onSend  func(m hmsg)
	// onOutput, if set, sees each Output as the harness takes it, before
	// its messages and events are handled.
	onOutput func(node string, out Output)
}

type hnode struct {
	name string
	m    *Machine
	skew Time
	down bool
	era  uint32 // durable era floor
	// starts counts this node's starts: each incarnation draws from its
	// own random stream, as a real restart does (R20).
	starts uint64
}

type hmsg struct {
	from, to string
	msg      Message
}

func newHarness(t testing.TB, voters []string, extra ...string) *harness {
	h := &harness{t: t, nodes: map[string]*hnode{}, enc: NewEncoder(), dec: NewDecoder(), events: map[string][]Event{}, now: 1_000_000_000}
	// The rule tests and scripts were written for two phases; the one-round
	// acquire has its own (oneround_test.go) and the property tests run it.
	h.cfg = Config{Voters: voters, TwoPhaseAcquire: true}
	for _, n := range append(slices.Clone(voters), extra...) {
		h.order = append(h.order, n)
		h.nodes[n] = &hnode{name: n}
		h.start(n, Start{Kind: StartFresh})
	}
	return h
}

func (h *harness) config(name string) Config {
	c := h.cfg
	c.Self = name
	return c
}

func (h *harness) start(name string, st Start) {
	n := h.nodes[name]
	n.starts++
	m, err := New(h.config(name), st, rand.New(rand.NewPCG(n.starts, uint64(len(name)))), h.local(n))
	if err != nil {
		h.t.Fatalf("New(%s): %v", name, err)
	}
	n.m, n.down = m, false
	h.collect(n)
}

func (h *harness) local(n *hnode) Time { return h.now + n.skew }

// collect moves a node's output into the queue and the event log.
func (h *harness) collect(n *hnode) {
	// Every input of every test is followed by the assert-style invariant
	// check (invariants.go).
	if err := n.m.CheckInvariants(); err != nil {
		h.t.Fatalf("%s: %v", n.name, err)
	}
	out := n.m.Ready()
	if h.onOutput != nil {
		h.onOutput(n.name, out)
	}
	if out.PersistEra != 0 {
		n.era = out.PersistEra
	}
	for _, env := range out.Messages {
		// Round-trip through the wire codec, as a real network would.
		var raw [][]byte
		if err := h.enc.Encode(Header{From: n.name, ID: n.m.ID()}, []Message{env.Msg}, func(b []byte) { raw = append(raw, slices.Clone(b)) }); err != nil {
			h.t.Fatalf("encode: %v", err)
		}
		for _, b := range raw {
			if h.wire != nil {
				h.wire(n.name, env.To, b)
			}
			hdr, msgs, err := h.dec.Decode(b)
			if err != nil {
				h.t.Fatalf("decode: %v", err)
			}
			from := hdr.From
			if to := h.nodes[env.To]; to != nil && !to.m.Admit(hdr) {
				continue // another identity (R17)
			}
			for _, msg := range msgs {
				h.queue = append(h.queue, hmsg{from: from, to: env.To, msg: msg})
				if h.onSend != nil {
					h.onSend(h.queue[len(h.queue)-1])
				}
			}
		}
	}
	for _, e := range out.Events {
		h.events[n.name] = append(h.events[n.name], e)
		if h.onEvent != nil {
			h.onEvent(n.name, e)
		}
		h.log = append(h.log, fmt.Sprintf("%s: %s %s token=%d err=%v", n.name, e.Kind, e.Name, e.Token, e.Err))
	}
}

// deliverAll delivers queued messages (and those they cause) until the
// queue is empty, skipping messages for which drop returns true.
func (h *harness) deliverAll(drop func(hmsg) bool) {
	for len(h.queue) > 0 {
		msg := h.queue[0]
		h.queue = h.queue[1:]
		n := h.nodes[msg.to]
		if n == nil || n.down || (drop != nil && drop(msg)) {
			continue // nil: a node the test plays itself
		}
		n.m.Step(h.local(n), msg.from, msg.msg)
		h.collect(n)
	}
}

// take removes and returns the queued messages that match.
func (h *harness) take(match func(hmsg) bool) []hmsg {
	var got, keep []hmsg
	for _, q := range h.queue {
		if match(q) {
			got = append(got, q)
		} else {
			keep = append(keep, q)
		}
	}
	h.queue = keep
	return got
}

func (h *harness) deliver(msgs ...hmsg) {
	for _, msg := range msgs {
		n := h.nodes[msg.to]
		if n == nil || n.down {
			continue
		}
		n.m.Step(h.local(n), msg.from, msg.msg)
		h.collect(n)
	}
}

// advance moves true time forward by d, ticking every node at each of its
// wake-ups on the way, without delivering messages.
func (h *harness) advance(d time.Duration) {
	end := h.now.Add(d)
	for {
		next := end
		for _, name := range h.order {
			n := h.nodes[name]
			if n.down {
				continue
			}
			if w := n.m.NextWake(); w != Never && w-n.skew < next {
				next = w - n.skew
			}
		}
		if next > h.now {
			h.now = next
		}
		for _, name := range h.order {
			n := h.nodes[name]
			if !n.down && n.m.NextWake() <= h.local(n) {
				n.m.Tick(h.local(n))
				h.collect(n)
			}
		}
		if h.now >= end {
			return
		}
	}
}

// settle advances time in small steps, delivering everything, for d.
func (h *harness) settle(d time.Duration, drop func(hmsg) bool) {
	step := time.Millisecond
	for el := time.Duration(0); el < d; el += step {
		h.deliverAll(drop)
		h.advance(step)
	}
	h.deliverAll(drop)
}

func (h *harness) acquire(node, name string, wait bool) {
	n := h.nodes[node]
	if err := n.m.Acquire(h.local(n), AcquireRequest{Name: name, Wait: wait}); err != nil {
		h.t.Fatalf("%s Acquire(%s): %v", node, name, err)
	}
	h.collect(n)
}

func (h *harness) lastEvent(node string) Event {
	ev := h.events[node]
	if len(ev) == 0 {
		return Event{}
	}
	return ev[len(ev)-1]
}

func (h *harness) holders(name string) []string {
	var out []string
	for _, n := range h.order {
		nd := h.nodes[n]
		if nd.down {
			continue
		}
		if _, dl, ok := nd.m.Holding(name); ok && h.local(nd) < dl {
			out = append(out, n)
		}
	}
	return out
}

func (h *harness) dump() string { return strings.Join(h.log, "\n") }

func isType(t MsgType) func(hmsg) bool { return func(m hmsg) bool { return m.msg.Type() == t } }

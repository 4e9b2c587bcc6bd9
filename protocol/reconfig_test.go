package protocol

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// rcNet is a tiny deterministic network of machines for the tests of
// voter reconfiguration: every datagram goes through the real encoder and
// decoder and into Machine.Deliver, one at a time, in send order.
type rcNet struct {
	t       *testing.T
	now     Time
	nodes   map[string]*Machine
	order   []string
	durable map[string]*ConfigRecord // the last PersistConfig of each node
	queue   []rcDatagram
	events  map[string][]Event
	cut     map[[2]string]bool
	enc     *Encoder
	dec     *Decoder
}

type rcDatagram struct {
	to string
	b  []byte
}

func newRCNet(t *testing.T, voters []string, others ...string) *rcNet {
	n := &rcNet{t: t, now: 1, nodes: map[string]*Machine{}, durable: map[string]*ConfigRecord{},
		events: map[string][]Event{}, cut: map[[2]string]bool{}, enc: NewEncoder(), dec: NewDecoder()}
	for i, name := range append(slices.Clone(voters), others...) {
		m, err := New(Config{Self: name, Cluster: "c", Voters: voters, MaxTTL: 2 * time.Second}, Start{Kind: StartFresh}, rand.New(rand.NewPCG(uint64(i), 7)), n.now)
		if err != nil {
			t.Fatal(err)
		}
		n.nodes[name] = m
		n.order = append(n.order, name)
		n.flush(name)
	}
	return n
}

// flush takes one node's Output: persist, then send, then events (the
// order Output demands; the test checks the first).
func (n *rcNet) flush(name string) {
	m := n.nodes[name]
	out := m.Ready()
	if out.PersistConfig != nil {
		n.durable[name] = out.PersistConfig
	}
	byPeer := map[string][]Message{}
	var peers []string
	for _, e := range out.Messages {
		if _, ok := byPeer[e.To]; !ok {
			peers = append(peers, e.To)
		}
		byPeer[e.To] = append(byPeer[e.To], e.Msg)
		if _, ok := e.Msg.(*CfgAccepted); ok && out.PersistConfig == nil {
			n.t.Fatalf("%s: CfgAccepted leaves in an Output that persists no configuration state", name)
		}
	}
	for _, p := range peers {
		err := n.enc.Encode(Header{From: name, ID: m.ID()}, byPeer[p], func(b []byte) {
			n.queue = append(n.queue, rcDatagram{to: p, b: slices.Clone(b)})
		})
		if err != nil {
			n.t.Fatal(err)
		}
	}
	n.events[name] = append(n.events[name], out.Events...)
}

// run delivers datagrams and ticks every node, 1 ms a step, for d.
func (n *rcNet) run(d time.Duration) {
	end := n.now.Add(d)
	for n.now < end {
		for len(n.queue) > 0 {
			g := n.queue[0]
			n.queue = n.queue[1:]
			h, msgs, err := n.dec.Decode(g.b)
			if err != nil {
				n.t.Fatalf("datagram to %s: %v", g.to, err)
			}
			m := n.nodes[g.to]
			if m == nil || n.cut[[2]string{h.From, g.to}] {
				continue
			}
			m.Deliver(n.now, h, msgs)
			n.flush(g.to)
		}
		n.now = n.now.Add(time.Millisecond)
		for _, name := range n.order {
			if m := n.nodes[name]; m.NextWake() <= n.now {
				m.Tick(n.now)
				n.flush(name)
			}
		}
	}
}

// hold has node take lease name for ttl, runs 50ms, and returns its
// token and deadline; the test fails if it does not hold it then.
func (n *rcNet) hold(node, name string, ttl time.Duration) (uint64, Time) {
	n.t.Helper()
	if err := n.nodes[node].Acquire(n.now, AcquireRequest{Name: name, TTL: ttl}); err != nil {
		n.t.Fatal(err)
	}
	n.flush(node)
	n.run(50 * time.Millisecond)
	tok, deadline, ok := n.nodes[node].Holding(name)
	if !ok {
		n.t.Fatalf("%s did not acquire %s", node, name)
	}
	return tok, deadline
}

// start runs a new machine under name, with voters as its initial list
// and the Start st, in place of any machine of that name, and flushes it.
func (n *rcNet) start(name string, voters []string, seed uint64, st Start) *Machine {
	n.t.Helper()
	m, err := New(Config{Self: name, Cluster: "c", Voters: voters, MaxTTL: 2 * time.Second},
		st, rand.New(rand.NewPCG(seed, 7)), n.now)
	if err != nil {
		n.t.Fatal(err)
	}
	if !slices.Contains(n.order, name) {
		n.order = append(n.order, name)
	}
	n.nodes[name] = m
	n.flush(name)
	return m
}

// change has node from change the voters from epoch 0 to want, runs 5s,
// and fails the test unless the change succeeded.
func (n *rcNet) change(from string, want []string) {
	n.t.Helper()
	if err := n.nodes[from].Reconfigure(n.now, ReconfigureRequest{Voters: want, FromEpoch: 0}); err != nil {
		n.t.Fatal(err)
	}
	n.flush(from)
	n.run(5 * time.Second)
	if ev := n.last(from, EventReconfigured); ev == nil || ev.Err != nil {
		n.t.Fatalf("the change to %v: %+v", want, ev)
	}
}

// notGrantedBefore has node ask for lease name, and fails the test if it
// is granted it before deadline, the end of holder's tenure at token tok.
func (n *rcNet) notGrantedBefore(node, name, holder string, tok uint64, deadline Time) {
	n.t.Helper()
	if err := n.nodes[node].Acquire(n.now, AcquireRequest{Name: name, TTL: time.Second}); err != nil {
		n.t.Fatal(err)
	}
	n.flush(node)
	for n.now < deadline-Time(20*time.Millisecond) {
		n.run(5 * time.Millisecond)
		if tk, _, held := n.nodes[node].Holding(name); held {
			n.t.Fatalf("%s was granted %s (token %d) %v before %s's deadline (token %d)", node, name, tk, deadline.Sub(n.now), holder, tok)
		}
	}
}

func (n *rcNet) last(name string, k EventKind) *Event {
	for i := len(n.events[name]) - 1; i >= 0; i-- {
		if n.events[name][i].Kind == k {
			return &n.events[name][i]
		}
	}
	return nil
}

// R21, R22: 3 -> 5 -> 3 online. Each step passes through the joint
// configuration; every node ends on the same configuration, durable, and
// a tenure held through both changes is never lost and keeps its token.
func TestReconfigThreeFiveThree(t *testing.T) {
	n := newRCNet(t, []string{"a", "b", "c"}, "d", "e")
	n.run(10 * time.Millisecond)
	tok, _ := n.hold("d", "L", time.Second)
	for _, step := range [][]string{{"a", "b", "c", "d", "e"}, {"a", "b", "e"}} {
		from := n.nodes["a"].Membership()
		if err := n.nodes["a"].Reconfigure(n.now, ReconfigureRequest{Voters: step, FromEpoch: from.Epoch}); err != nil {
			t.Fatal(err)
		}
		n.flush("a")
		n.run(5 * time.Second)
		ev := n.last("a", EventReconfigured)
		if ev == nil || ev.Err != nil || !slices.Equal(ev.Config.Voters, step) || ev.Config.Epoch != from.Epoch+2 {
			t.Fatalf("change to %v: event %+v", step, ev)
		}
		for _, name := range n.order {
			k := n.nodes[name].Membership()
			if !k.Equal(*ev.Config) {
				t.Fatalf("%s adopted %s, a %s", name, k, ev.Config)
			}
			if r := n.durable[name]; r == nil || !r.Config.Equal(k) {
				t.Fatalf("%s: durable record %+v, adopted %s", name, r, k)
			}
		}
		if got, _, ok := n.nodes["d"].Holding("L"); !ok || got != tok {
			t.Fatalf("tenure of d through the change to %v: held %v token %d, want %d", step, ok, got, tok)
		}
	}
	if n.last("d", EventLost) != nil {
		t.Fatal("d lost its tenure during a change")
	}
	if n.nodes["c"].IsVoter() || !n.nodes["e"].IsVoter() {
		t.Fatal("c still votes or e does not")
	}
}

// R22: a request planned from an old epoch, or for a malformed list, is
// refused at once and changes nothing; a second change while one runs on
// this node is refused too.
func TestReconfigRefusals(t *testing.T) {
	n := newRCNet(t, []string{"a", "b", "c"})
	m := n.nodes["a"]
	for _, c := range []struct {
		req  ReconfigureRequest
		want error
	}{
		{ReconfigureRequest{Voters: []string{"a", "b"}, FromEpoch: 3}, ErrConfigChanged},
		{ReconfigureRequest{Voters: nil, FromEpoch: AnyEpoch}, ErrMembership},
		{ReconfigureRequest{Voters: []string{"a", "a"}, FromEpoch: 0}, ErrMembership},
		{ReconfigureRequest{Voters: []string{"a", strings.Repeat("x", MaxNodeNameLen+1)}, FromEpoch: 0}, ErrMembership},
	} {
		if err := m.Reconfigure(n.now, c.req); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.req, err, c.want)
		}
	}
	if out := m.Ready(); !out.Empty() || m.Reconfiguring() {
		t.Fatalf("a refused request produced %+v", out)
	}
	if err := m.Reconfigure(n.now, ReconfigureRequest{Voters: []string{"a", "b"}, FromEpoch: 0}); err != nil {
		t.Fatal(err)
	}
	if err := m.Reconfigure(n.now, ReconfigureRequest{Voters: []string{"a", "c"}, FromEpoch: 0}); !errors.Is(err, ErrReconfiguring) {
		t.Fatalf("second change on one node: %v", err)
	}
}

// R22: two initiators change the voters at once from one epoch. One wins;
// the other is told ErrConfigChanged; every node adopts the same chain.
func TestReconfigConcurrentOneWins(t *testing.T) {
	n := newRCNet(t, []string{"a", "b", "c"}, "d", "e")
	n.run(10 * time.Millisecond)
	if err := n.nodes["d"].Reconfigure(n.now, ReconfigureRequest{Voters: []string{"a", "b", "c", "d"}, FromEpoch: 0}); err != nil {
		t.Fatal(err)
	}
	if err := n.nodes["e"].Reconfigure(n.now, ReconfigureRequest{Voters: []string{"a", "b", "e"}, FromEpoch: 0}); err != nil {
		t.Fatal(err)
	}
	n.flush("d")
	n.flush("e")
	n.run(8 * time.Second)
	ed, ee := n.last("d", EventReconfigured), n.last("e", EventReconfigured)
	if ed == nil || ee == nil {
		t.Fatalf("outcomes: d %+v e %+v", ed, ee)
	}
	if (ed.Err == nil) == (ee.Err == nil) || !(errors.Is(ed.Err, ErrConfigChanged) || errors.Is(ee.Err, ErrConfigChanged)) {
		t.Fatalf("want one success and one ErrConfigChanged: d %v, e %v", ed.Err, ee.Err)
	}
	// A node that is no voter learns the outcome lazily, from the answer
	// to its next datagram: e asks for a lease.
	if err := n.nodes["e"].Acquire(n.now, AcquireRequest{Name: "L", TTL: time.Second}); err != nil {
		t.Fatal(err)
	}
	n.flush("e")
	n.run(time.Second)
	if _, _, ok := n.nodes["e"].Holding("L"); !ok {
		t.Fatal("e acquired nothing after the changes")
	}
	want := n.nodes["a"].Membership()
	for _, name := range n.order {
		if k := n.nodes[name].Membership(); !k.Equal(want) {
			t.Fatalf("%s adopted %s, a %s", name, k, want)
		}
	}
}

// R21: a lease message of another epoch is not handled: a voter ahead
// answers it with its configuration (Install), never with a promise.
func TestReconfigStaleEpochNotAnswered(t *testing.T) {
	n := newRCNet(t, []string{"a", "b", "c"})
	n.run(10 * time.Millisecond)
	if err := n.nodes["a"].Reconfigure(n.now, ReconfigureRequest{Voters: []string{"a", "b"}, FromEpoch: 0}); err != nil {
		t.Fatal(err)
	}
	n.flush("a")
	n.run(5 * time.Second)
	b := n.nodes["b"]
	if b.Membership().Epoch != 2 {
		t.Fatalf("b at %s", b.Membership())
	}
	old := Identity{Cluster: "c", Voters: Fingerprint([]string{"a", "b", "c"})}
	if !b.Deliver(n.now, Header{From: "c", ID: old}, []Message{&Prepare{Name: "L", Ballot: Ballot{Era: 9, Round: 1, Node: "c"}, Attempt: 1}}) {
		t.Fatal("a datagram of an older epoch of the cluster was refused")
	}
	out := b.Ready()
	if len(out.Messages) != 1 {
		t.Fatalf("answers %+v", out.Messages)
	}
	in, ok := out.Messages[0].Msg.(*Install)
	if !ok || out.Messages[0].To != "c" || !in.Config.Equal(b.Membership()) {
		t.Fatalf("answer %+v, want Install of %s to c", out.Messages[0], b.Membership())
	}
	if b.Era() >= 9 {
		t.Fatal("the stale Prepare's era was observed: the message was handled")
	}
	other := Identity{Cluster: "x", Voters: old.Voters, Epoch: 5}
	if b.Deliver(n.now, Header{From: "c", ID: other}, []Message{&Vacant{Name: "L"}}) {
		t.Fatal("a datagram of another cluster was taken")
	}
	// R17: another chain under the same cluster ID (a cluster started apart
	// with another voter list) is refused at every epoch, Install included.
	alien := Membership{Epoch: 9, Voters: []string{"a", "b"}}
	for _, id := range []Identity{
		{Cluster: "c", Voters: Fingerprint([]string{"a", "b", "x"})},
		{Cluster: "c", Voters: alien.Fingerprint(), Epoch: 9, Genesis: Fingerprint([]string{"a", "b", "x"})},
	} {
		if b.Deliver(n.now, Header{From: "x", ID: id}, []Message{&Install{Config: alien}}) {
			t.Fatalf("a datagram of another chain (%v) was taken", id)
		}
	}
	if b.Membership().Epoch != 2 {
		t.Fatalf("b adopted %s from another chain", b.Membership())
	}
	// A node told of a newer epoch elsewhere asks for it.
	x, err := New(Config{Self: "c", Cluster: "c", Voters: []string{"c", "b", "a"}, MaxTTL: 2 * time.Second}, Start{Kind: StartFresh}, newRand(), 0)
	if err != nil {
		t.Fatal(err)
	}
	x.Ready()
	x.AskConfig(n.now, "b")
	out = x.Ready()
	if len(out.Messages) != 1 || out.Messages[0].To != "b" {
		t.Fatalf("AskConfig sent %+v", out.Messages)
	}
	b.Deliver(n.now, Header{From: "c", ID: x.ID()}, []Message{out.Messages[0].Msg})
	ans := b.Ready()
	if len(ans.Messages) == 0 {
		t.Fatal("no answer to ConfigAsk")
	}
	x.Deliver(n.now, Header{From: "b", ID: b.ID()}, []Message{ans.Messages[0].Msg})
	if !x.Membership().Equal(b.Membership()) {
		t.Fatalf("after AskConfig: %s, b %s", x.Membership(), b.Membership())
	}
}

// R21: the configuration state survives a crash: a restarted node starts
// from its record, and without one from Config.Voters (epoch 0).
func TestReconfigRecordSurvivesRestart(t *testing.T) {
	n := newRCNet(t, []string{"a", "b", "c"}, "d")
	n.run(10 * time.Millisecond)
	if err := n.nodes["a"].Reconfigure(n.now, ReconfigureRequest{Voters: []string{"b", "c", "d"}, FromEpoch: 0}); err != nil {
		t.Fatal(err)
	}
	n.flush("a")
	n.run(5 * time.Second)
	rec := n.durable["a"]
	b, err := EncodeConfigRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeConfigRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Self: "a", Cluster: "c", Voters: []string{"a", "b", "c"}}, Start{Kind: StartCrashed, Era: 3, Config: back}, newRand(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if k := m.Membership(); !k.Equal(rec.Config) || m.IsVoter() || m.ID().Epoch != k.Epoch {
		t.Fatalf("restart: %s voter %v id %v, want %s", k, m.IsVoter(), m.ID(), rec.Config)
	}
	m0, err := New(Config{Self: "a", Cluster: "c", Voters: []string{"c", "a", "b"}}, Start{Kind: StartFresh}, newRand(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if k := m0.Membership(); k.Epoch != 0 || !slices.Equal(k.Voters, []string{"a", "b", "c"}) || m0.ID() != m0.cfg.Identity() {
		t.Fatalf("no record: %s id %v", k, m0.ID())
	}
	if _, err := DecodeConfigRecord([]byte{0x81, 0xa7, 'V', 'e', 'r', 's', 'i', 'o', 'n', 0x09}); !errors.Is(err, ErrConfigRecord) {
		t.Fatalf("record of version 9: %v", err)
	}
}

// Every reconfiguration message, and a header with an epoch, survive the
// wire; a malformed configuration on the wire is refused.
func TestReconfigCodecRoundTrip(t *testing.T) {
	k := Membership{Epoch: 7, Voters: []string{"a", "b", "c"}, Next: []string{"a", "d"}, MinEra: 4}
	msgs := []Message{
		&CfgPrepare{Slot: 8, Ballot: Ballot{Era: 3, Round: 9, Node: "n"}, Attempt: 1 << 40},
		&CfgPromise{Slot: 8, Attempt: 5, Accepted: Ballot{Era: 2, Round: 1, Node: "m"}, Value: &k, Era: 6, Bounds: Bounds{MaxTTL: time.Second, MaxExclusion: 3 * time.Second}},
		&CfgPromise{Slot: 8, Attempt: 5, Era: 6},
		&CfgReject{Slot: 8, Attempt: 5, Promised: Ballot{Era: 9, Round: 2, Node: "z"}},
		&CfgPropose{Slot: 8, Ballot: Ballot{Era: 3, Round: 9, Node: "n"}, Attempt: 6, Value: k},
		&CfgAccepted{Slot: 8, Attempt: 6},
		&Install{Config: k},
		&InstallAck{Epoch: 7, Era: 6, Bounds: Bounds{MaxTTL: time.Second}},
		&ConfigAsk{Epoch: 3},
	}
	h := Header{From: "n", ID: Identity{Cluster: "c", Voters: k.Fingerprint(), Epoch: k.Epoch}}
	var got []Message
	var hs []Header
	err := NewEncoder().Encode(h, msgs, func(b []byte) {
		if b[0] != WireVersionEpoch {
			t.Fatalf("header version %d, want %d", b[0], WireVersionEpoch)
		}
		gh, ms, err := NewDecoder().Decode(slices.Clone(b))
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, gh)
		got = append(got, ms...)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgs) || hs[0] != h {
		t.Fatalf("decoded %d messages, header %+v", len(got), hs[0])
	}
	for i := range msgs {
		if !rcEqual(msgs[i], got[i]) {
			t.Errorf("message %d: sent %+v, got %+v", i, msgs[i], got[i])
		}
	}
	bad := k
	bad.Voters = []string{"c", "a"} // not sorted
	err = NewEncoder().Encode(h, []Message{&Install{Config: bad}}, func(b []byte) {
		if _, _, err := NewDecoder().Decode(b); !errors.Is(err, ErrDecode) || !errors.Is(err, ErrMembership) {
			t.Fatalf("unsorted voters on the wire: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func rcEqual(a, b Message) bool {
	switch a := a.(type) {
	case *CfgPromise:
		b := b.(*CfgPromise)
		if (a.Value == nil) != (b.Value == nil) || (a.Value != nil && !a.Value.Equal(*b.Value)) {
			return false
		}
		x, y := *a, *b
		x.Value, y.Value = nil, nil
		return x == y
	case *CfgPropose:
		b := b.(*CfgPropose)
		return a.Slot == b.Slot && a.Ballot == b.Ballot && a.Attempt == b.Attempt && a.Value.Equal(b.Value)
	case *Install:
		return a.Config.Equal(b.(*Install).Config)
	case *CfgPrepare:
		return *a == *b.(*CfgPrepare)
	case *CfgReject:
		return *a == *b.(*CfgReject)
	case *CfgAccepted:
		return *a == *b.(*CfgAccepted)
	case *InstallAck:
		return *a == *b.(*InstallAck)
	case *ConfigAsk:
		return *a == *b.(*ConfigAsk)
	}
	return false
}

// R17, R21: epoch 0 keeps the identity a voter list had before
// reconfiguration existed; every later epoch differs from it and from
// each other.
func TestReconfigFingerprint(t *testing.T) {
	v := []string{"a", "b", "c"}
	if got := (Membership{Voters: v}).Fingerprint(); got != Fingerprint(v) {
		t.Fatal("epoch 0 changed the identity of a voter list")
	}
	seen := map[uint64]string{}
	for _, k := range []Membership{{Voters: v}, {Epoch: 1, Voters: v}, {Epoch: 2, Voters: v},
		{Epoch: 1, Voters: v, Next: []string{"a"}}, {Epoch: 1, Voters: v, MinEra: 3}} {
		f := k.Fingerprint()
		if o, dup := seen[f]; dup {
			t.Fatalf("%s and %s share a fingerprint", k, o)
		}
		seen[f] = k.String()
	}
}

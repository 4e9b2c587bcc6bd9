package sim

import (
	"fmt"
	"testing"
	"time"
)

// waitersSim is 5 voters and n client nodes with no faults, driven by
// hand: the first client acquires lease 0 and keeps it (renewing), then
// the others ask for it in order, each 50ms after the previous one for the
// first few (so every voter queues them in that order), and settle as
// waiters. It returns the sim and the holder's index.
func waitersSim(t *testing.T, seed uint64, n int) (*Sim, int) {
	t.Helper()
	o := DefaultOptions()
	o.Seed = seed
	o.Workload = false
	o.Faults = Preset(FaultsNone)
	o.Clients, o.Leases = n, 1
	s, err := New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	holder := o.Voters
	s.Advance(time.Second) // past the voters' starts
	if !s.Acquire(holder, 0, true) {
		t.Fatal("holder cannot ask")
	}
	s.Advance(500 * time.Millisecond)
	if _, _, ok := s.nodes[holder].m.Holding(s.leases[0]); !ok {
		t.Fatal("the first client did not get the lease")
	}
	for i := holder + 1; i < s.Nodes(); i++ {
		if !s.Acquire(i, 0, true) {
			t.Fatalf("client %d cannot ask", i)
		}
		if i < holder+6 {
			s.Advance(50 * time.Millisecond)
		}
	}
	s.Advance(2 * o.TTL) // every waiter has been turned away and waits
	return s, holder
}

// holderOf is the node that holds lease 0 by its own view, -1 if none.
func (s *Sim) holderOf() int {
	for i, n := range s.nodes {
		if n.down {
			continue
		}
		if _, _, ok := n.m.Holding(s.leases[0]); ok {
			return i
		}
	}
	return -1
}

// While nothing changes (a holder renewing, nobody releasing), a waiter
// costs O(1) messages per TTL: it learns of a release by a notice, and
// polls the voters only every few TTLs. Counted over ten TTLs, for several
// seeds and numbers of waiters: every message sent, the holder's renewals
// included.
func TestWaitersQuietMessageBound(t *testing.T) {
	for _, waiters := range []int{20, 200} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("waiters=%d/seed=%d", waiters, seed), func(t *testing.T) {
				quietMessageBound(t, seed, waiters)
			})
		}
	}
}

func quietMessageBound(t *testing.T, seed uint64, waiters int) {
	const ttls = 10
	s, holder := waitersSim(t, seed, waiters+1)
	ttl := s.opts.TTL
	before := s.stats.messages
	s.Advance(ttls * ttl)
	if v := s.Violation(); v != nil {
		t.Fatalf("violation: %s", describe(v))
	}
	if got := s.holderOf(); got != holder {
		t.Fatalf("holder %d after the quiet run, want %d", got, holder)
	}
	msgs := s.stats.messages - before
	// A waiter polls (a Prepare to 5 voters, 5 answers) once per 4 TTLs:
	// 2.5 messages per TTL; allow 4, and 40 per TTL for the holder's
	// renewals (each 5 Proposes and 5 Accepteds, about twice per TTL).
	// Polling at each reported remaining time cost about 13 per TTL.
	limit := uint64(waiters*ttls*4 + ttls*40)
	perWaiterTTL := float64(msgs) / float64(waiters*ttls)
	t.Logf("%d messages in %d TTLs with %d waiters: %.2f per waiter per TTL", msgs, ttls, waiters, perWaiterTTL)
	if msgs > limit {
		t.Fatalf("%d messages in %d TTLs with %d waiters (%.2f per waiter per TTL), want at most %d",
			msgs, ttls, waiters, perWaiterTTL, limit)
	}
}

// One release with 200 waiters costs a bounded number of messages: the
// voters tell the next waiter only, not all of them (no thundering herd),
// and the lease goes to the waiter that asked first.
func TestOneReleaseManyWaitersBounded(t *testing.T) {
	const waiters = 200
	s, holder := waitersSim(t, 1, waiters+1)
	before, toVoters := s.stats.messages, sum(s.stats.toVoter)
	if !s.Release(holder, 0) {
		t.Fatal("holder cannot release")
	}
	s.Advance(300 * time.Millisecond)
	if v := s.Violation(); v != nil {
		t.Fatalf("violation: %s", describe(v))
	}
	if got, want := s.holderOf(), holder+1; got != want {
		t.Fatalf("after the release %d holds the lease, want the first waiter %d", got, want)
	}
	msgs, voterMsgs := s.stats.messages-before, sum(s.stats.toVoter)-toVoters
	// Two Releases to each voter, a Vacant from each, the new holder's
	// round (5 Proposes or Prepares, 5 answers, then Proposes and
	// Accepteds), perhaps a renewal of it and a link or two of the chain:
	// about 40; the bound does not grow with the waiters. Waking every
	// waiter cost over 1,000 Vacants and a Prepare round from each.
	const limit = 100
	t.Logf("one release, %d waiters: %d messages, %d to the voters", waiters, msgs, voterMsgs)
	if msgs > limit {
		t.Fatalf("one release with %d waiters cost %d messages (%d to the voters), want at most %d", waiters, msgs, voterMsgs, limit)
	}
}

// Fairness with many waiters: release after release, the lease goes round
// the waiters in the order they asked (the releaser does not ask again).
func TestHandoffsGoRoundManyWaiters(t *testing.T) {
	s, holder := waitersSim(t, 1, 101)
	var got []int
	cur := holder
	for range 5 {
		if !s.Release(cur, 0) {
			t.Fatalf("%d cannot release; holders so far %v", cur, got)
		}
		s.Advance(300 * time.Millisecond)
		cur = s.holderOf()
		got = append(got, cur)
	}
	if v := s.Violation(); v != nil {
		t.Fatalf("violation: %s", describe(v))
	}
	for k, h := range got {
		if want := holder + 1 + k; h != want {
			t.Fatalf("handoff order %v, want %d.. in turn", got, holder+1)
		}
	}
}

func sum(xs []uint64) uint64 {
	var n uint64
	for _, x := range xs {
		n += x
	}
	return n
}

package protocol

import (
	"testing"
	"time"
)

// TestDecidePrepare checks R4's decision as a pure function: for each slot
// and Prepare, the reply, whether the sender waits, whether the slot
// promises, and that deciding changes nothing.
func TestDecidePrepare(t *testing.T) {
	const now Time = 1_000
	live := func() *slot {
		return &slot{name: "L", promised: b(1, 5, "h"), promisedAttempt: 7, owner: "h", ballot: b(1, 5, "h"), until: now + 100}
	}
	released := func(favoured string) *slot {
		s := live()
		s.released = true
		s.grace = handoff{favoured: favoured, until: now + 50}
		return s
	}
	cases := []struct {
		name       string
		s          *slot
		from       string
		p          Prepare
		anyAttempt bool
		// want
		reply   MsgType
		holder  bool // the reply reports a holder
		wait    bool
		promise bool
	}{
		{"below the promise", live(), "x", Prepare{Name: "L", Ballot: b(1, 4, "x"), Attempt: 1}, false, TypeReject, true, true, false},
		{"equal ballot, other node", &slot{promised: b(1, 5, "h")}, "x", Prepare{Name: "L", Ballot: b(1, 5, "x"), Attempt: 7}, false, TypeReject, false, false, false},
		{"equal ballot, other attempt (R20)", &slot{promised: b(1, 5, "x"), promisedAttempt: 7}, "x", Prepare{Name: "L", Ballot: b(1, 5, "x"), Attempt: 8}, false, TypeReject, false, false, false},
		{"equal ballot, other attempt, weakened", &slot{promised: b(1, 5, "x"), promisedAttempt: 7}, "x", Prepare{Name: "L", Ballot: b(1, 5, "x"), Attempt: 8}, true, TypePromise, false, false, true},
		{"resend of the promised attempt", &slot{promised: b(1, 5, "x"), promisedAttempt: 7}, "x", Prepare{Name: "L", Ballot: b(1, 5, "x"), Attempt: 7}, false, TypePromise, false, false, true},
		{"live lease blocks", live(), "x", Prepare{Name: "L", Ballot: b(1, 6, "x"), Attempt: 1}, false, TypePromise, true, true, false},
		{"grace turns away the unfavoured", released("w"), "x", Prepare{Name: "L", Ballot: b(1, 6, "x"), Attempt: 1}, false, TypePromise, true, true, false},
		{"grace opens to the favoured", released("x"), "x", Prepare{Name: "L", Ballot: b(1, 6, "x"), Attempt: 1}, false, TypePromise, false, false, true},
		{"no grace after a release nobody waited for", released(""), "x", Prepare{Name: "L", Ballot: b(1, 6, "x"), Attempt: 1}, false, TypePromise, false, false, true},
		{"empty slot", &slot{}, "x", Prepare{Name: "L", Ballot: b(1, 1, "x"), Attempt: 1}, false, TypePromise, false, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := *tc.s
			a := decidePrepare(tc.s, now, tc.from, &tc.p, tc.anyAttempt)
			if a.reply.Type() != tc.reply || a.wait != tc.wait || a.promise != tc.promise {
				t.Fatalf("got reply %v wait %v promise %v, want %v %v %v", a.reply.Type(), a.wait, a.promise, tc.reply, tc.wait, tc.promise)
			}
			var h LeaseInfo
			switch r := a.reply.(type) {
			case *Promise:
				h = r.Holder
			case *Reject:
				h = r.Holder
			}
			if h.Live() != tc.holder {
				t.Fatalf("reply reports holder %+v, want a holder: %v", h, tc.holder)
			}
			if tc.s.promised != before.promised || tc.s.promisedAttempt != before.promisedAttempt || len(tc.s.waiters) != len(before.waiters) {
				t.Fatal("decidePrepare changed the slot")
			}
		})
	}
	// The grace's answer lasts for the rest of the grace, not the lease.
	a := decidePrepare(released("w"), now, "x", &Prepare{Name: "L", Ballot: b(1, 6, "x"), Attempt: 1}, false)
	if got := a.reply.(*Promise).Holder.Remaining; got != time.Duration(50) {
		t.Fatalf("grace answer Remaining = %v, want the grace's 50ns", got)
	}
}

// TestDecidePropose checks R5's decision as a pure function.
func TestDecidePropose(t *testing.T) {
	const now Time = 1_000
	live := &slot{promised: b(1, 5, "h"), owner: "h", ballot: b(1, 5, "h"), until: now + 100}
	cases := []struct {
		name        string
		s           *slot
		from        string
		ballot      Ballot
		replaceLive bool
		accept      bool
	}{
		{"below the promise", &slot{promised: b(1, 5, "x")}, "x", b(1, 4, "x"), false, false},
		{"equal ballot, other node", &slot{promised: b(1, 5, "h")}, "x", b(1, 5, "x"), false, false},
		{"at the promise", &slot{promised: b(1, 5, "x")}, "x", b(1, 5, "x"), false, true},
		{"above the promise", &slot{promised: b(1, 5, "h")}, "x", b(1, 6, "x"), false, true},
		{"another owner's live lease", live, "x", b(1, 6, "x"), false, false},
		{"another owner's live lease, weakened", live, "x", b(1, 6, "x"), true, true},
		{"the owner's own renewal", live, "h", b(1, 5, "h"), false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := *tc.s
			r := decidePropose(tc.s, now, tc.from, &Propose{Name: "L", Ballot: tc.ballot, Attempt: 1, TTL: time.Second}, tc.replaceLive)
			if (r == nil) != tc.accept {
				t.Fatalf("decidePropose = %+v, want accept %v", r, tc.accept)
			}
			if r != nil && r.Promised != tc.s.promised {
				t.Fatalf("Reject carries promise %v, want %v", r.Promised, tc.s.promised)
			}
			if tc.s.promised != before.promised || tc.s.owner != before.owner || tc.s.ballot != before.ballot {
				t.Fatal("decidePropose changed the slot")
			}
		})
	}
}

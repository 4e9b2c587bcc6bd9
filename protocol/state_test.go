package protocol

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// busyAcceptor returns acceptor a with several slots: a live lease with a
// value and lock delay, a bare promise, a released lease, and an expired one.
func busyAcceptor(t *testing.T, start Start) *probe {
	p := newProbe(t, "a", abc, start, nil)
	p.ready()
	runExchanges(t, p, []exchange{
		{from: "x", msg: &Propose{Name: "old", Ballot: b(3, 1, "x"), Attempt: 1, TTL: 100 * time.Millisecond}, want: TypeAccepted},
		{from: "x", msg: &Propose{Name: "live", Ballot: b(3, 2, "x"), Attempt: 1, TTL: time.Second, LockDelay: 500 * time.Millisecond, Value: []byte("v1")}, want: TypeAccepted},
		{from: "y", msg: &Prepare{Name: "promised", Ballot: b(3, 7, "y"), Attempt: 1}, want: TypePromise},
		{from: "y", msg: &Propose{Name: "released", Ballot: b(3, 8, "y"), Attempt: 1, TTL: time.Second}, want: TypeAccepted},
	})
	p.step("y", &Release{Name: "released", Ballot: b(3, 8, "y")})
	p.wait(200 * time.Millisecond)
	return p
}

// Snapshot, EncodeState and DecodeState round-trip every field.
func TestStateRoundTrip(t *testing.T) {
	p := busyAcceptor(t, fresh)
	st := p.m.Snapshot(p.now)
	if st.Version != StateVersion || len(st.Slots) != 4 || st.Era != 3 {
		t.Fatalf("snapshot %+v", st)
	}
	var live SlotState
	for _, s := range st.Slots {
		if s.Name == "live" {
			live = s
		}
	}
	want := SlotState{Name: "live", Promised: b(3, 2, "x"), PromisedAttempt: 1, Owner: "x", Ballot: b(3, 2, "x"), Remaining: 800 * time.Millisecond, LockDelay: 500 * time.Millisecond, Value: []byte("v1")}
	if !reflect.DeepEqual(live, want) {
		t.Fatalf("live slot %+v, want %+v", live, want)
	}
	got, err := DecodeState(mustEncodeState(t, st))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, st)
	}
}

// DecodeState refuses garbage and other versions with ErrState.
func TestStateDecodeRefuses(t *testing.T) {
	other, _ := msgpack.Marshal(&State{Version: StateVersion + 1})
	for name, raw := range map[string][]byte{
		"empty":         nil,
		"garbage":       []byte("not a state"),
		"wrong version": other,
		"truncated":     mustEncodeState(t, busyAcceptor(t, fresh).m.Snapshot(probeStart))[:20],
	} {
		if _, err := DecodeState(raw); !errors.Is(err, ErrState) {
			t.Errorf("%s: %v, want ErrState", name, err)
		}
	}
}

// Snapshot stops the machine: later inputs are ignored.
func TestSnapshotStops(t *testing.T) {
	p := busyAcceptor(t, fresh)
	p.m.Snapshot(p.now)
	if out := p.step("z", &Prepare{Name: "new", Ballot: b(9, 9, "z"), Attempt: 1}); !out.Empty() {
		t.Fatalf("stopped machine answered: %+v", out)
	}
	if err := p.m.Acquire(p.now, AcquireRequest{Name: "n"}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Acquire after Snapshot: %v", err)
	}
	if p.m.NextWake() != Never {
		t.Fatalf("stopped machine wants a wake-up at %v", p.m.NextWake())
	}
}

// R9, R12: a clean restart restores promises and leases, live again for
// their remaining duration, with no quarantine and no era bump: the
// restored voter still blocks a competitor at once, on a clock with any
// origin.
func TestStartCleanRestores(t *testing.T) {
	p := busyAcceptor(t, fresh)
	st, err := DecodeState(mustEncodeState(t, p.m.Snapshot(p.now)))
	if err != nil {
		t.Fatal(err)
	}
	q := newProbeAt(t, 123_456_789_000, "a", abc, Start{Kind: StartClean, State: st}, nil) // another origin
	if out := q.ready(); out.PersistEra != 0 {
		t.Fatalf("R12: clean start asks to persist era %d", out.PersistEra)
	}
	if q.m.Era() != 3 || q.m.Quarantined(q.now) {
		t.Fatalf("R9: era %d, quarantined %v", q.m.Era(), q.m.Quarantined(q.now))
	}
	pr := first[*Promise](t, q.step("z", &Prepare{Name: "live", Ballot: b(3, 20, "z"), Attempt: 1}))
	if pr.Holder.Owner != "x" || !pr.Holder.Ballot.Same(b(3, 2, "x")) || pr.Holder.Remaining != 1300*time.Millisecond || string(pr.Holder.Value) != "v1" {
		t.Fatalf("R9: restored lease %+v, want x at 3.2, 800ms + 500ms lock delay, value v1", pr.Holder)
	}
	runExchanges(t, q, []exchange{
		// The lease blocks a competitor's propose (R5) and the promise
		// stands (R3).
		{from: "z", msg: &Propose{Name: "live", Ballot: b(3, 20, "z"), Attempt: 1, TTL: time.Second}, want: TypeReject, promised: b(3, 2, "x"), holder: "x"},
		{from: "z", msg: &Prepare{Name: "promised", Ballot: b(3, 6, "z"), Attempt: 1}, want: TypeReject, promised: b(3, 7, "y")},
		{from: "z", msg: &Prepare{Name: "promised", Ballot: b(3, 7, "z"), Attempt: 1}, want: TypeReject, promised: b(3, 7, "y")},
		// The released lease blocks nothing; its ballot still bounds.
		{from: "z", msg: &Prepare{Name: "released", Ballot: b(3, 9, "z"), Attempt: 1}, want: TypePromise},
		// The holder's one-phase renewal still works after the restart.
		{from: "x", msg: &Propose{Name: "live", Ballot: b(3, 2, "x"), Attempt: 2, TTL: time.Second}, want: TypeAccepted},
	})
	q.wait(time.Second + 500*time.Millisecond)
	runExchanges(t, q, []exchange{{from: "z", msg: &Prepare{Name: "live", Ballot: b(3, 21, "z"), Attempt: 1}, want: TypePromise}})
}

// R12: an era floor raised by a crashed start survives a clean restart.
func TestStartCleanKeepsEraFloor(t *testing.T) {
	p := newProbe(t, "a", abc, Start{Kind: StartCrashed, Era: 6}, nil)
	p.at(p.m.QuarantineUntil())
	st := p.m.Snapshot(p.now)
	q := newProbe(t, "a", abc, Start{Kind: StartClean, State: st}, nil)
	runExchanges(t, q, []exchange{
		{from: "x", msg: prepare(6, 99, "x"), want: TypeReject, promised: Ballot{Era: 7}},
		{from: "x", msg: prepare(7, 1, "x"), want: TypePromise},
	})
}

// R3, R12: an acceptor forgets an idle slot after a while, but never its
// promise: a lower ballot for the name is still rejected, before and after
// a clean restart.
func TestForgottenSlotKeepsPromise(t *testing.T) {
	p := newProbe(t, "a", abc, fresh, nil)
	runExchanges(t, p, []exchange{{from: "x", msg: prepare(1, 7, "x"), want: TypePromise}})
	p.tickTo(p.now.Add(3 * p.m.Config().MaxTTL))
	if len(p.m.slots) != 0 {
		t.Fatalf("idle slot not collected: %d slots", len(p.m.slots))
	}
	runExchanges(t, p, []exchange{{from: "y", msg: prepare(1, 6, "y"), want: TypeReject, promised: b(1, 7, "x")}})
	q := newProbe(t, "a", abc, Start{Kind: StartClean, State: p.m.Snapshot(p.now)}, nil)
	runExchanges(t, q, []exchange{{from: "y", msg: &Prepare{Name: "other", Ballot: b(1, 6, "y"), Attempt: 1}, want: TypeReject, promised: b(1, 7, "x")}})
}

// StartClean needs a State.
func TestStartCleanNeedsState(t *testing.T) {
	if _, err := New(Config{Self: "a", Voters: abc}, Start{Kind: StartClean}, rngFor(1), 0); !errors.Is(err, ErrConfig) {
		t.Fatalf("StartClean without State: %v", err)
	}
	if _, err := New(Config{Self: "a", Voters: abc}, Start{}, rngFor(1), 0); !errors.Is(err, ErrConfig) {
		t.Fatalf("zero Start: %v", err)
	}
	if _, err := New(Config{Self: "a", Voters: abc}, fresh, nil, 0); !errors.Is(err, ErrConfig) {
		t.Fatalf("nil Rand: %v", err)
	}
}

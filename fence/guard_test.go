package fence

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// step is one call of a table test: Admit(name, token) and what must follow.
type step struct {
	name    string
	token   uint64
	want    error  // nil, or the sentinel the error must match
	highest uint64 // Highest(name) after the call
}

func TestAdmitTable(t *testing.T) {
	long := strings.Repeat("x", MaxNameLen)
	tests := []struct {
		desc  string
		steps []step
	}{
		{"first token admitted", []step{{"a", 5, nil, 5}}},
		// R12: one tenure keeps its token across renewals.
		{"equal token admitted again", []step{{"a", 5, nil, 5}, {"a", 5, nil, 5}, {"a", 5, nil, 5}}},
		// R12: successive tenures have strictly increasing tokens.
		{"higher token raises", []step{{"a", 5, nil, 5}, {"a", 6, nil, 6}, {"a", 1 << 40, nil, 1 << 40}}},
		{"lower token stale", []step{{"a", 5, nil, 5}, {"a", 4, ErrStale, 5}, {"a", 1, ErrStale, 5}}},
		{"stale after raise", []step{{"a", 5, nil, 5}, {"a", 9, nil, 9}, {"a", 5, ErrStale, 9}, {"a", 9, nil, 9}}},
		{"names independent", []step{{"a", 9, nil, 9}, {"b", 3, nil, 3}, {"a", 3, ErrStale, 9}, {"b", 9, nil, 9}}},
		{"max token", []step{{"a", ^uint64(0), nil, ^uint64(0)}, {"a", ^uint64(0) - 1, ErrStale, ^uint64(0)}}},
		{"zero token", []step{{"a", 0, ErrNoToken, 0}, {"a", 5, nil, 5}, {"a", 0, ErrNoToken, 5}}},
		{"empty name", []step{{"", 5, ErrBadName, 0}}},
		{"longest name", []step{{long, 5, nil, 5}}},
		{"overlong name", []step{{long + "x", 5, ErrBadName, 0}}},
		{"invalid utf8", []step{{"a\xff", 5, ErrBadName, 0}}},
		{"control char", []step{{"a\nb", 5, ErrBadName, 0}}},
		{"del char", []step{{"a\x7f", 5, ErrBadName, 0}}},
		{"c1 control", []step{{"a\u0085", 5, ErrBadName, 0}}},
		{"unicode name", []step{{"lock/größe", 5, nil, 5}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			g := New()
			for i, s := range tc.steps {
				err := g.Admit(s.name, s.token)
				if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
					t.Fatalf("step %d: Admit(%q, %d) = %v, want %v", i, s.name, s.token, err, s.want)
				}
				h, ok := g.Highest(s.name)
				if h != s.highest || ok != (s.highest != 0) {
					t.Fatalf("step %d: Highest(%q) = %d, %v; want %d", i, s.name, h, ok, s.highest)
				}
			}
		})
	}
}

func TestStaleErrorCarriesHighest(t *testing.T) {
	g := New()
	if err := g.Admit("db", 8); err != nil {
		t.Fatal(err)
	}
	err := g.Admit("db", 7)
	var se *StaleError
	if !errors.As(err, &se) || !errors.Is(err, ErrStale) {
		t.Fatalf("Admit = %v, want *StaleError matching ErrStale", err)
	}
	if se.Name != "db" || se.Token != 7 || se.Highest != 8 {
		t.Fatalf("StaleError = %+v", *se)
	}
	for _, want := range []string{`"db"`, "7", "8", "fence: stale token"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestDo(t *testing.T) {
	g := New()
	ran := 0
	op := func() error { ran++; return nil }

	if err := g.Do("a", 5, op); err != nil || ran != 1 {
		t.Fatalf("Do(5) = %v, ran %d", err, ran)
	}
	if err := g.Do("a", 4, op); !errors.Is(err, ErrStale) || ran != 1 {
		t.Fatalf("stale Do = %v, ran %d; want ErrStale and op not run", err, ran)
	}
	if err := g.Do("a", 0, op); !errors.Is(err, ErrNoToken) || ran != 1 {
		t.Fatalf("Do(0) = %v, ran %d", err, ran)
	}

	// The op's error comes back unchanged, and the token stays admitted.
	boom := errors.New("boom")
	if err := g.Do("a", 6, func() error { return boom }); err != boom {
		t.Fatalf("Do = %v, want the op's error", err)
	}
	if h, _ := g.Highest("a"); h != 6 {
		t.Fatalf("Highest = %d after failed op, want 6", h)
	}
	if err := g.Do("a", 5, op); !errors.Is(err, ErrStale) {
		t.Fatalf("Do(5) after failed op with 6 = %v, want ErrStale", err)
	}

	// A panicking op releases the name's lock.
	func() {
		defer func() { _ = recover() }()
		_ = g.Do("a", 6, func() error { panic("op panics") })
	}()
	if err := g.Do("a", 6, op); err != nil {
		t.Fatalf("Do after panic = %v", err)
	}
}

func TestClose(t *testing.T) {
	g := New()
	if err := g.Admit("a", 5); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Admit("a", 5); !errors.Is(err, ErrClosed) {
		t.Fatalf("Admit after Close = %v, want ErrClosed", err)
	}
	if h, ok := g.Highest("a"); h != 5 || !ok {
		t.Fatalf("Highest after Close = %d, %v", h, ok)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

// A Do that was waiting for its name's lock when Close ran never runs its
// operation: once Close has returned, nothing not yet admitted runs. The
// second Do is made to wait deterministically: it has passed its first check
// of closed (lockWait fired) while the first Do is blocked inside its
// operation, holding the lock.
func TestCloseRefusesWaiter(t *testing.T) {
	g := New()
	waiting := make(chan struct{})
	g.lockWait = func(string) {
		select {
		case waiting <- struct{}{}:
		default: // the first Do: nobody listens yet
		}
	}
	entered, release := make(chan struct{}), make(chan struct{})
	first := make(chan error)
	go func() {
		first <- g.Do("a", 5, func() error {
			close(entered)
			<-release
			return nil
		})
	}()
	<-entered
	var secondRan atomic.Bool
	second := make(chan error)
	go func() {
		second <- g.Do("a", 5, func() error {
			secondRan.Store(true)
			return nil
		})
	}()
	<-waiting // the second Do passed its first check and now waits for "a"
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first Do (admitted before Close) = %v", err)
	}
	if err := <-second; !errors.Is(err, ErrClosed) {
		t.Fatalf("Do waiting on the lock during Close = %v, want ErrClosed", err)
	}
	if secondRan.Load() {
		t.Fatal("the waiting Do ran its operation after Close returned")
	}
}

// A Resource checks every call against the one name it is bound to, and
// shares its Guard's state.
func TestResource(t *testing.T) {
	g := New()
	if _, err := g.Resource(""); !errors.Is(err, ErrBadName) {
		t.Fatalf("Resource(\"\") = %v, want ErrBadName", err)
	}
	if _, err := g.Resource("a\x00"); !errors.Is(err, ErrBadName) {
		t.Fatalf("Resource with NUL = %v, want ErrBadName", err)
	}
	db, err := g.Resource("db")
	if err != nil {
		t.Fatal(err)
	}
	other, err := g.Resource("DB")
	if err != nil {
		t.Fatal(err)
	}
	if db.Name() != "db" {
		t.Fatalf("Name = %q", db.Name())
	}
	ran := 0
	op := func() error { ran++; return nil }
	if err := db.Do(9, op); err != nil || ran != 1 {
		t.Fatalf("Do(9) = %v, ran %d", err, ran)
	}
	if err := db.Do(7, op); !errors.Is(err, ErrStale) || ran != 1 {
		t.Fatalf("Do(7) = %v, ran %d; want ErrStale, not run", err, ran)
	}
	// "DB" is a lease of its own: its floor is its own.
	if err := other.Admit(7); err != nil {
		t.Fatalf("DB Admit(7) = %v", err)
	}
	if h, _ := db.Highest(); h != 9 {
		t.Fatalf("db highest %d after DB admitted 7, want 9", h)
	}
	if h, _ := g.Highest("db"); h != 9 {
		t.Fatalf("the Guard sees %d for db, want 9 (shared state)", h)
	}
	if err := g.Admit("db", 10); err != nil {
		t.Fatal(err)
	}
	if err := db.Admit(9); !errors.Is(err, ErrStale) {
		t.Fatalf("Admit(9) after the Guard admitted 10 = %v, want ErrStale", err)
	}
	_ = g.Close()
	if err := db.Do(10, op); !errors.Is(err, ErrClosed) || ran != 1 {
		t.Fatalf("Do after Close = %v, ran %d", err, ran)
	}
}

// TestConcurrentDoOrder runs many holders of a few names at once, each
// sending several operations with its tenure's token, and records the order
// in which operations apply. Under Do the operations of one name never
// overlap and their tokens never decrease, whatever the scheduler does (R12:
// a stale write never lands after a newer one). Each operation yields between
// starting and logging to widen the window a non-atomic check would lose.
func TestConcurrentDoOrder(t *testing.T) {
	const (
		names   = 3
		holders = 16
		ops     = 50
		seed    = 1
	)
	rng := rand.New(rand.NewPCG(seed, seed))
	g := New()
	var (
		logMu    sync.Mutex
		logs     = make([][]uint64, names)
		inFlight = make([]atomic.Int32, names)
	)

	var wg sync.WaitGroup
	start := make(chan struct{})
	for h := range holders {
		for n := range names {
			token := uint64(rng.IntN(8) + 1) // several holders share tokens: one tenure, many senders
			name := fmt.Sprintf("lease-%d", n)
			wg.Go(func() {
				<-start
				for range ops {
					err := g.Do(name, token, func() error {
						if c := inFlight[n].Add(1); c != 1 {
							t.Errorf("name %d: %d operations at once", n, c)
						}
						runtime.Gosched()
						logMu.Lock()
						logs[n] = append(logs[n], token)
						logMu.Unlock()
						inFlight[n].Add(-1)
						return nil
					})
					if err != nil && !errors.Is(err, ErrStale) {
						t.Errorf("holder %d: Do = %v", h, err)
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()

	for n, log := range logs {
		if len(log) == 0 {
			t.Fatalf("name %d: nothing applied", n)
		}
		for i := 1; i < len(log); i++ {
			if log[i] < log[i-1] {
				t.Fatalf("seed %d: name %d: applied token %d after %d at position %d", seed, n, log[i], log[i-1], i)
			}
		}
		if h, _ := g.Highest(fmt.Sprintf("lease-%d", n)); h != log[len(log)-1] {
			t.Fatalf("name %d: Highest %d, last applied %d", n, h, log[len(log)-1])
		}
	}
}

func TestZeroGuard(t *testing.T) {
	var g Guard
	if _, ok := g.Highest("a"); ok {
		t.Fatal("zero Guard has a token")
	}
	if err := g.Admit("a", 5); err != nil {
		t.Fatal(err)
	}
	if err := g.Admit("a", 4); !errors.Is(err, ErrStale) {
		t.Fatalf("Admit(4) = %v, want ErrStale", err)
	}
}

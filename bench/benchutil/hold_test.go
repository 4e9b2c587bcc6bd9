package benchutil

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// workerGoroutines counts the goroutines that run a worker of HoldMany.
func workerGoroutines() int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "benchutil.HoldMany.func1(")
}

// HoldMany calls take once for each index of [from, n), never more than
// HoldInFlight at a time, and returns the error a call gave.
func TestHoldMany(t *testing.T) {
	const from, n = 3, 3 + 2*HoldInFlight + 7
	var mu sync.Mutex
	calls := map[int]int{}
	inFlight, most := 0, 0
	release := make(chan struct{})
	var full sync.Once
	workers := 0
	err := HoldMany(from, n, func(i int) error {
		mu.Lock()
		calls[i]++
		inFlight++
		most = max(most, inFlight)
		if inFlight == HoldInFlight { // every worker is in a call at once
			full.Do(func() {
				workers = workerGoroutines()
				close(release)
			})
		}
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != n-from || most != HoldInFlight || workers != HoldInFlight {
		t.Fatalf("%d indexes called (want %d), %d at most at once and %d workers (want %d)", len(calls), n-from, most, workers, HoldInFlight)
	}
	for i := from; i < n; i++ {
		if calls[i] != 1 {
			t.Fatalf("index %d called %d times", i, calls[i])
		}
	}

	bad := errors.New("refused")
	var done sync.Map
	err = HoldMany(0, 10, func(i int) error {
		done.Store(i, true)
		if i == 4 {
			return bad
		}
		return nil
	})
	if !errors.Is(err, bad) {
		t.Fatalf("error %v, want %v", err, bad)
	}
	for i := range 10 {
		if _, ok := done.Load(i); !ok {
			t.Fatalf("index %d not called after another's error", i)
		}
	}
	if err := HoldMany(5, 5, func(int) error { return bad }); err != nil {
		t.Fatalf("nothing to take: %v", err)
	}
}

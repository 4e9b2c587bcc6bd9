package benchutil

import (
	"runtime"
	"sync"
)

// HoldMany calls take(i) for every i from from up to n, HoldInFlight calls
// at a time: the hold phases of both sides take their leases this way. It
// returns the first error a call returned; the other calls still run.
func HoldMany(from, n int, take func(i int) error) error {
	work := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range min(HoldInFlight, n-from) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := take(i); err != nil {
					once.Do(func() { firstErr = err })
				}
			}
		}()
	}
	for i := from; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	return firstErr
}

// HeapAfterGC is the live heap after two collections.
func HeapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

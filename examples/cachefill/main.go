// Command cachefill keeps one expensive cache entry filled by whichever
// reader takes the fill lease, while every other reader serves the stale
// entry (or, before the first fill, waits for it) instead of filling it
// too.
//
//	go run ./examples/cachefill --duration 3s --fresh 500ms --readers 8
//
// A reader that finds the entry stale tries the entry's lease with
// TryAcquire. The one that gets it checks again (another may have just
// filled it), fills, stores the value with the lease's fencing token, and
// releases; the others get ErrHeld and move on with the stale value. So
// the expensive fill runs about once per expiry of the entry, not once
// per reader that noticed. The program counts reads and fills and checks
// that no fill ran while the entry was fresh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenure-dev/tenure/examples/internal/loopback"
	"github.com/tenure-dev/tenure/fence"
	"github.com/tenure-dev/tenure/node"
)

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 3*time.Second, "how long the readers run")
	flag.DurationVar(&o.fresh, "fresh", 500*time.Millisecond, "how long a filled entry stays fresh")
	flag.DurationVar(&o.fill, "fill", 50*time.Millisecond, "how long the expensive fill takes")
	flag.IntVar(&o.readers, "readers", 8, "readers, spread over three nodes")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "cachefill:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, fresh, fill time.Duration
	readers               int
}

// cache is the shared cache: one entry, written only through a fence so
// that a filler whose lease ran out cannot overwrite a newer fill.
type cache struct {
	guard *fence.Guard
	fresh time.Duration

	mu      sync.Mutex
	value   string
	until   time.Time // fresh until
	filled  chan struct{}
	version int
}

const key = "report"

func (c *cache) get(now time.Time) (value string, fresh, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value, now.Before(c.until), c.version > 0
}

func (c *cache) put(token uint64, value string) error {
	return c.guard.Do("fill/"+key, token, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.value, c.until = value, time.Now().Add(c.fresh)
		c.version++
		if c.version == 1 {
			close(c.filled)
		}
		return nil
	})
}

func run(ctx context.Context, w io.Writer, o options) error {
	cl, err := loopback.Start([]string{"n1", "n2", "n3"}, nil, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	c := &cache{guard: fence.New(), fresh: o.fresh, filled: make(chan struct{})}
	var reads, staleReads, fills, redundant, errs atomic.Int64

	// fill runs the expensive computation under the fill lease; it reports
	// whether it filled.
	fill := func(n *node.Node) (bool, error) {
		l, err := n.TryAcquire(ctx, "fill/"+key, node.WithTTL(max(4*o.fill, 500*time.Millisecond)))
		if errors.Is(err, node.ErrHeld) || errors.Is(err, node.ErrContended) {
			return false, nil // someone else is filling
		}
		if err != nil {
			return false, err
		}
		defer l.Release(context.WithoutCancel(ctx))
		if _, fresh, _ := c.get(time.Now()); fresh {
			return false, nil // filled while we took the lease
		}
		time.Sleep(o.fill) // the expensive part
		if _, fresh, _ := c.get(time.Now()); fresh {
			redundant.Add(1) // cannot happen while fills hold the lease
		}
		fills.Add(1)
		return true, c.put(l.Token(), fmt.Sprintf("report computed by %s under token %d", n.Name(), l.Token()))
	}

	stop := time.Now().Add(o.duration)
	var wg sync.WaitGroup
	for i := range o.readers {
		n := cl.Node([]string{"n1", "n2", "n3"}[i%3])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && ctx.Err() == nil {
				_, fresh, ok := c.get(time.Now())
				if !fresh {
					if _, err := fill(n); err != nil {
						errs.Add(1)
						fmt.Fprintf(os.Stderr, "fill on %s: %v\n", n.Name(), err)
					}
					if !ok { // nothing to serve yet: wait for the first fill
						select {
						case <-c.filled:
						case <-time.After(10 * time.Millisecond):
						}
						continue
					}
					if _, fresh, _ := c.get(time.Now()); !fresh {
						staleReads.Add(1)
					}
				}
				reads.Add(1)
				time.Sleep(time.Millisecond) // serve the value
			}
		}()
	}
	wg.Wait()

	expiries := int64(o.duration/o.fresh) + 1
	fmt.Fprintf(w, "%d reads (%d served stale while a fill ran), %d fills in %v with entries fresh for %v: about one per expiry (at most %d); redundant fills: %d\n",
		reads.Load(), staleReads.Load(), fills.Load(), o.duration, o.fresh, expiries, redundant.Load())
	switch {
	case errs.Load() > 0:
		return fmt.Errorf("%d fills failed", errs.Load())
	case redundant.Load() > 0:
		return errors.New("a fill ran while the entry was fresh")
	case fills.Load() > expiries:
		return fmt.Errorf("%d fills for at most %d expiries", fills.Load(), expiries)
	}
	return nil
}

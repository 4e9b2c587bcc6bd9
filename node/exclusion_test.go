package node

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// fenced is an in-memory resource guarded by fencing tokens: it refuses a
// write whose token is below the highest it has seen (R12).
type fenced struct {
	mu      sync.Mutex
	last    uint64
	writes  int
	refused []string
}

func (f *fenced) write(token uint64, who string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token < f.last {
		f.refused = append(f.refused, fmt.Sprintf("%s wrote with token %d after %d", who, token, f.last))
		return false
	}
	f.last = token
	f.writes++
	return true
}

// tenure is one holder's own account of a tenure: from the grant to the
// moment it stopped acting, on the process's one monotonic clock.
type tenure struct {
	node       string
	token      uint64
	start, end time.Time
}

func TestExclusionFiveNodes(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d (think times only)", seed)
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x", "y"}, nil)
	var (
		res      fenced
		mu       sync.Mutex
		tenures  []tenure
		wg       sync.WaitGroup
		failures = make(chan error, 16)
	)
	stopAt := time.Now().Add(3 * time.Second)
	for i, name := range []string{"a", "b", "c", "x", "y"} {
		n := c.nodes[name]
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) {
				l, err := n.Acquire(ctx(t, 20*time.Second), "mutex", WithTTL(time.Second))
				if err != nil {
					failures <- fmt.Errorf("%s: Acquire: %w", name, err)
					return
				}
				// Act only before the deadline and while the lease lives.
				if time.Now().Before(l.Deadline()) && l.Err() == nil {
					res.write(l.Token(), name)
				}
				end := time.Now()
				if dl := l.Deadline(); dl.Before(end) {
					end = dl
				}
				if err := l.Release(ctx(t, 5*time.Second)); err != nil {
					failures <- fmt.Errorf("%s: Release: %w", name, err)
					return
				}
				mu.Lock()
				tenures = append(tenures, tenure{node: name, token: l.Token(), start: l.acquiredAt, end: end})
				mu.Unlock()
				time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Millisecond)))) // think time
			}
		}()
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Error(err)
	}
	slices.SortFunc(tenures, func(p, q tenure) int { return p.start.Compare(q.start) })
	per := map[string]int{}
	for i, tn := range tenures {
		per[tn.node]++
		if i == 0 {
			continue
		}
		prev := tenures[i-1]
		if tn.start.Before(prev.end) {
			t.Errorf("overlap: %s from %v while %s held until %v", tn.node, tn.start, prev.node, prev.end)
		}
		// R12: tokens strictly increase from one tenure to the next.
		if tn.token <= prev.token {
			t.Errorf("token %d of %s not above %d of %s", tn.token, tn.node, prev.token, prev.node)
		}
	}
	for _, r := range res.refused {
		t.Errorf("fenced resource refused: %s", r)
	}
	t.Logf("%d tenures, %d writes, per node %v", len(tenures), res.writes, per)
	for _, name := range []string{"a", "b", "c", "x", "y"} {
		if per[name] < 3 {
			t.Errorf("node %s had %d tenures in 3s, want several", name, per[name])
		}
	}
}

package node

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

func TestAcquireSlotRefusesBadInput(t *testing.T) {
	c := newCluster(t, []string{"a"}, nil, nil)
	a := c.nodes["a"]
	for _, slots := range []int{0, -1, MaxSlots + 1} {
		if _, err := a.AcquireSlot(ctx(t, time.Second), "sem", slots); !errors.Is(err, ErrBadSlots) {
			t.Errorf("slots %d: %v, want ErrBadSlots", slots, err)
		}
	}
	// The name fits, but "#9" pushes the last slot's name over the limit.
	long := strings.Repeat("s", protocol.MaxNameLen-1)
	if _, err := a.AcquireSlot(ctx(t, time.Second), long, 10); !errors.Is(err, ErrBadName) || !errors.Is(err, protocol.ErrBadName) {
		t.Errorf("long name: %v, want ErrBadName", err)
	}
	if _, err := a.AcquireSlot(ctx(t, time.Second), "", 1); !errors.Is(err, ErrBadName) || !errors.Is(err, protocol.ErrBadName) {
		t.Errorf("empty name: %v, want ErrBadName", err)
	}
}

// At most slots holders of a semaphore at once: six goroutines on three
// nodes contend for two slots; every holder's own account of its tenure
// (grant to the moment it stopped acting, on the process's one monotonic
// clock) is recorded, and no instant is covered by more than two. Each
// slot is a lease of its own, so its tokens rise (R12).
func TestAcquireSlotBound(t *testing.T) {
	const slots = 2
	seed := rand.Uint64()
	t.Logf("seed %d (hold and think times only)", seed)
	c := newCluster(t, []string{"a", "b", "c"}, nil, nil)
	var (
		mu      sync.Mutex
		tenures []tenure // node holds the slot's lease name
		wg      sync.WaitGroup
		per     = map[int]int{}
	)
	stopAt := time.Now().Add(2 * time.Second)
	for i := range 6 {
		n := c.nodes[[]string{"a", "b", "c"}[i%3]]
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) {
				l, err := n.AcquireSlot(ctx(t, 20*time.Second), "sem", slots, WithTTL(time.Second))
				if err != nil {
					t.Errorf("worker %d: AcquireSlot: %v", i, err)
					return
				}
				time.Sleep(time.Duration(rng.Int64N(int64(5 * time.Millisecond)))) // hold: workload shaping
				end := time.Now()
				if dl := l.Deadline(); dl.Before(end) {
					end = dl
				}
				if l.Err() != nil {
					end = l.endedAt
				}
				if err := l.Release(ctx(t, 5*time.Second)); err != nil && !errors.Is(err, ErrLost) {
					t.Errorf("worker %d: Release: %v", i, err)
				}
				mu.Lock()
				tenures = append(tenures, tenure{node: l.Name(), token: l.Token(), start: l.acquiredAt, end: end})
				per[i]++
				mu.Unlock()
				time.Sleep(time.Duration(rng.Int64N(int64(10 * time.Millisecond)))) // think time
			}
		}()
	}
	wg.Wait()

	type edge struct {
		at   time.Time
		open int // +1 start, -1 end
	}
	var edges []edge
	bySlot := map[string][]tenure{}
	for _, tn := range tenures {
		edges = append(edges, edge{tn.start, +1}, edge{tn.end, -1})
		bySlot[tn.node] = append(bySlot[tn.node], tn)
	}
	// Ends sort before starts at the same instant: touching is not
	// overlapping.
	slices.SortFunc(edges, func(p, q edge) int {
		if c := p.at.Compare(q.at); c != 0 {
			return c
		}
		return p.open - q.open
	})
	open, most := 0, 0
	for _, e := range edges {
		open += e.open
		most = max(most, open)
	}
	if most > slots {
		t.Errorf("%d holders at once, want at most %d", most, slots)
	}
	for name, ts := range bySlot {
		slices.SortFunc(ts, func(p, q tenure) int { return p.start.Compare(q.start) })
		for i := 1; i < len(ts); i++ {
			if ts[i].start.Before(ts[i-1].end) || ts[i].token <= ts[i-1].token {
				t.Errorf("%s: tenure %+v after %+v", name, ts[i], ts[i-1])
			}
		}
	}
	t.Logf("%d tenures, at most %d at once, per slot %v, per worker %v", len(tenures), most,
		fmt.Sprint(len(bySlot[SlotName("sem", 0)]), " ", len(bySlot[SlotName("sem", 1)])), per)
	if len(bySlot) != slots {
		t.Errorf("slots used: %d, want %d", len(bySlot), slots)
	}
	if most < slots {
		t.Errorf("never more than %d holder at once: the semaphore acts as a mutex", most)
	}
	for i := range 6 {
		if per[i] < 2 {
			t.Errorf("worker %d got %d slots in 2s, want several", i, per[i])
		}
	}
}

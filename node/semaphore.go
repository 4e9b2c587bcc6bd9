package node

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// MaxSlots is the most slots AcquireSlot accepts: every round tries the
// free ones one by one, so the cost of a full semaphore grows with it.
const MaxSlots = 1024

// SlotSeparator joins a semaphore's name and a slot index into the slot's
// lease name: slot 3 of "workers" is the lease "workers#3".
const SlotSeparator = "#"

// Slot waiting: how long AcquireSlot waits on one slot between rounds
// while every slot is held, doubling from slotBackoffMin to
// slotBackoffMax, with jitter.
const (
	slotBackoffMin = 50 * time.Millisecond
	slotBackoffMax = time.Second
)

// ErrBadSlots means AcquireSlot was asked for fewer than 1 or more than
// MaxSlots slots.
var ErrBadSlots = errors.New("node: slot count out of range")

// SlotName is the lease name of slot i of the semaphore name.
func SlotName(name string, i int) string { return name + SlotSeparator + strconv.Itoa(i) }

// AcquireSlot waits until this node holds one of slots slots of the
// semaphore name, or ctx ends, and returns that slot's tenure. At most
// slots tenures of a semaphore exist at once, on any nodes, provided every
// user passes the same slots: each slot is a lease of its own (SlotName),
// with its own fencing token, so a resource fenced per slot (Lease.Name)
// refuses a stale holder of that slot.
//
// Each round tries the slots once, in a random order (seeded per node, so
// that nodes spread over the slots), with TryAcquire. While all are held
// it waits on one slot picked at random, as Acquire does (a release of
// that slot reaches it within a round trip), for 50ms doubling to 1s with
// jitter, and then makes another round, which finds any slot released
// meanwhile; a slot whose holder crashed is free once it expires. Waiters
// are not served first come, first served. opts are as for Acquire.
//
// It fails with ErrBadSlots for slots outside [1, MaxSlots], and with
// ErrBadName if a slot's name would be an invalid lease name.
func (n *Node) AcquireSlot(ctx context.Context, name string, slots int, opts ...AcquireOption) (*Lease, error) {
	if slots < 1 || slots > MaxSlots {
		return nil, fmt.Errorf("%w: %d not in [1, %d]", ErrBadSlots, slots, MaxSlots)
	}
	if err := protocol.CheckName(name); err != nil {
		return nil, mapErr(err)
	}
	if err := protocol.CheckName(SlotName(name, slots-1)); err != nil {
		return nil, mapErr(err)
	}
	rnd := n.slotRnd
	backoff := slotBackoffMin
	order := make([]int, slots)
	for {
		rnd.perm(order)
		for _, i := range order {
			l, err := n.TryAcquire(ctx, SlotName(name, i), opts...)
			switch {
			case err == nil:
				return l, nil
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case errors.Is(err, ErrHeld), errors.Is(err, ErrContended):
				continue
			default:
				return nil, err
			}
		}
		// All held: wait on one of them, where a release reaches this
		// node within a round trip (a Vacant notice), and try them all
		// again if it has not come within the backoff.
		wctx, cancel := context.WithTimeout(ctx, rnd.jitter(backoff))
		l, err := n.Acquire(wctx, SlotName(name, rnd.intN(slots)), opts...)
		cancel()
		switch {
		case err == nil:
			return l, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return nil, err
		}
		backoff = min(2*backoff, slotBackoffMax)
	}
}

// lockedRand is a node's seeded source for slot orders and backoff; the
// seed is the node's name, so a run's choices are reproducible per node.
type lockedRand struct {
	mu  sync.Mutex
	rnd *rand.Rand
}

// newSlotRand seeds a node's slot source from its name.
func newSlotRand(node string) *lockedRand {
	h := fnv.New64a()
	h.Write([]byte(node))
	return &lockedRand{rnd: rand.New(rand.NewPCG(h.Sum64(), 0x510751075107))}
}

// perm fills order with a random permutation of its indices.
func (r *lockedRand) perm(order []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range order {
		order[i] = i
	}
	r.rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
}

// intN is a random int in [0, n).
func (r *lockedRand) intN(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rnd.IntN(n)
}

// jitter is a random duration in [d/2, d].
func (r *lockedRand) jitter(d time.Duration) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return d/2 + time.Duration(r.rnd.Int64N(int64(d/2)+1))
}

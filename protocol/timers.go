package protocol

// timerOwner is anything the machine wakes up at an instant: a claim (the
// proposer's state for one name), an acceptor slot, a query, the release
// queue.
type timerOwner interface {
	ticket() *ticket
	fire(m *Machine, now Time)
}

// ticket is an owner's handle on its one scheduled timer.
type ticket struct{ t *timer }

type timer struct {
	at    Time
	seq   uint64 // ties broken by scheduling order: deterministic
	owner timerOwner
	dead  bool
	idx   int
}

func (t *timer) live() bool { return !t.dead }

func (t *timer) fire(m *Machine, now Time) {
	t.dead = true
	tk := t.owner.ticket()
	if tk.t == t {
		tk.t = nil
	}
	t.owner.fire(m, now)
}

// timerHeap is a min-heap of timers by (at, seq).
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *timerHeap) Push(x any)   { t := x.(*timer); t.idx = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

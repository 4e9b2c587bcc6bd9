package sim

// kind says what an event does when it is popped.
type kind uint8

// Event kinds.
const (
	evDeliver   kind = 1 + iota // a datagram reaches node (from = aux)
	evWake                      // a node's machine asked to be ticked
	evClient                    // a client action (node, lease = aux, act)
	evWrite                     // a fenced write reaches the resource (node: writer, lease = aux, token, tenure)
	evFault                     // the next random fault of kind aux arrives
	evHeal                      // partition aux ends
	evRestart                   // node restarts after a crash or shutdown
	evUnpause                   // node wakes from a pause
	evRate                      // node's clock changes rate
	evQuiet                     // faults stop: heal, restart, wake everything
	evLiveness                  // a vacancy of lease aux reaches the bound
	evDead                      // cancelled (a dropped in-flight datagram)
	evOp                        // an operator's change (aux: opLower)
	evEdge                      // an HTTP message arrives (node: agent node or client holder, buf: edgeWorld handle)
	evEdgeTimer                 // a client's timer (node: its holder index, act: the timer)
	evAgent                     // an agent's timer (node, lease = aux, act: the timer)
)

// event is one entry of the simulator's queue. It is a plain value with no
// pointer in it (a datagram is a handle into the network's slab), so the
// heap neither allocates nor costs the garbage collector anything.
type event struct {
	at    int64  // true time, ns
	seq   uint64 // tie-break: scheduling order, so pops are deterministic
	act   uint64 // what to do: the client action (evClient) or timer (evEdgeTimer, evAgent)
	token uint64 // the token a fenced write carries (evWrite)
	node  int32
	aux   int32  // per kind, as listed with the kinds above
	gen   uint32 // generation check for cancellable events; nothing else
	// tenure is the checker's tenure under which the writer held the
	// lease when it sent a fenced write, 0 if none (evWrite).
	tenure uint32
	buf    int32 // datagram handle (evDeliver)
	kind   kind
}

// eventHeap is a binary min-heap of events ordered by (at, seq).
type eventHeap []event

func (h eventHeap) less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *eventHeap) pop() event {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = event{}
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

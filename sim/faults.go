package sim

import (
	"fmt"
	"time"
)

// scheduleFault draws the next arrival of fault kind k, if it falls before
// the quiet phase.
func (s *Sim) scheduleFault(k int) {
	rate := s.faultRate(k)
	if rate <= 0 {
		return
	}
	at := s.now + s.expDelay(time.Duration(float64(time.Minute)/rate))
	if at >= s.quietAt {
		return
	}
	s.push(event{at: at, kind: evFault, aux: int32(k)})
}

// onFault injects one fault of the event's kind and draws the next one.
func (s *Sim) onFault(e *event) {
	if s.quiet {
		return
	}
	s.stats.events++
	faultKind(int(e.aux)).inject(s)
	s.scheduleFault(int(e.aux))
}

// faultLength draws how long a fault lasts: half the time shorter than a
// TTL (the holder may survive it), half the time a few TTLs (it will not).
func (s *Sim) faultLength() int64 {
	ttl := s.opts.TTL
	if s.rnd.IntN(2) == 0 {
		return s.uniform(time.Millisecond, ttl)
	}
	return int64(ttl) + s.expDelay(3*ttl)
}

// partitionMode is a way a random partition cuts the network.
type partitionMode int

// The partition modes randomPartition draws from, each as likely.
const (
	// partMinority cuts a random minority (one node up to half of them)
	// off from the rest, both ways.
	partMinority partitionMode = iota
	// partIsolate cuts one node off from the rest, both ways.
	partIsolate
	// partDeafen makes one node deaf to some others: what they send it is
	// lost, what it sends arrives (an asymmetric partition).
	partDeafen
	// partitionModes is the number of modes.
	partitionModes
)

// cut draws the links mode m cuts among n nodes (perm a random permutation
// of them), and its description.
func (s *Sim) cut(m partitionMode, perm []int) ([][2]int, string) {
	n := len(perm)
	switch m {
	case partMinority:
		return s.splitLinks(perm[:1+s.rnd.IntN(max(1, n/2))])
	case partIsolate:
		return s.splitLinks(perm[:1])
	case partDeafen:
		return s.deafenLinks(perm[0], perm[1:2+s.rnd.IntN(n-1)])
	}
	panic(fmt.Sprintf("sim: unknown partition mode %d", m))
}

// randomPartition cuts the network in a random partitionMode. A cut the
// limit of the restore model forbids (assume.go) is drawn again, up to
// four times, then held back.
func (s *Sim) randomPartition() {
	n := len(s.nodes)
	if n < 2 {
		return
	}
	for range 4 {
		perm := s.rnd.Perm(n)
		links, desc := s.cut(partitionMode(s.rnd.IntN(int(partitionModes))), perm)
		if !s.allows(&hypo{cuts: links}) {
			s.heldBack()
			continue
		}
		id := s.net.partitionLinks(links, desc)
		s.push(event{at: s.now + s.faultLength(), kind: evHeal, aux: int32(id)})
		return
	}
}

// upNodes lists the nodes that are running and not paused.
func (s *Sim) upNodes() []int {
	var up []int
	for _, n := range s.nodes {
		if !n.down && !n.paused {
			up = append(up, n.idx)
		}
	}
	return up
}

// mayTake lists the nodes of ix that the limit of the restore model
// (assume.go) lets a fault take away, with pauseEnd the true instant a
// pause would end (0 for a crash or a stop).
func (s *Sim) mayTake(ix []int, pauseEnd int64) []int {
	if !s.guardLimited() {
		return ix
	}
	var ok []int
	for _, i := range ix {
		if s.allows(&hypo{away: []int{i}, pauseEnd: pauseEnd}) {
			ok = append(ok, i)
		} else {
			s.heldBack()
		}
	}
	return ok
}

// victim picks a running node, half the time among those that hold a
// lease: faults that hit holders are the ones that test the protocol.
// pauseEnd is as for mayTake.
func (s *Sim) victim(pauseEnd int64) *node {
	up := s.mayTake(s.upNodes(), pauseEnd)
	if len(up) == 0 {
		return nil
	}
	if s.rnd.IntN(2) == 0 {
		var holders []int
		for _, i := range up {
			if s.chk.holdsAny(i) {
				holders = append(holders, i)
			}
		}
		if len(holders) > 0 {
			up = holders
		}
	}
	return s.nodes[up[s.rnd.IntN(len(up))]]
}

// randomCrash stops one node (a crash, or a clean shutdown), or, one time
// in five, crashes a burst of two to a bare majority of nodes at once with
// about the same down time: a rack losing power. Bursts are what make
// forgotten state matter (R9, R12): one acceptor forgetting is covered by
// the others' memory, a majority forgetting is not.
func (s *Sim) randomCrash() {
	if s.rnd.IntN(5) == 0 {
		up := s.upNodes()
		if len(up) < 2 {
			return
		}
		k := 2 + s.rnd.IntN(max(1, len(s.nodes)/2))
		s.rnd.Shuffle(len(up), func(i, j int) { up[i], up[j] = up[j], up[i] })
		d := s.faultLength()
		var burst []int
		for _, i := range up {
			if len(burst) == k {
				break
			}
			if !s.guardLimited() || s.allows(&hypo{away: append(burst, i)}) {
				burst = append(burst, i)
			} else {
				s.heldBack()
			}
		}
		for _, i := range burst {
			s.crash(s.nodes[i], d+s.uniform(0, 50*time.Millisecond))
		}
		return
	}
	n := s.victim(0)
	if n == nil {
		return
	}
	d := s.faultLength()
	if s.rnd.Float64() < s.opts.Faults.CleanShare {
		s.shutdown(n, d)
	} else {
		s.crash(n, d)
	}
}

// randomPause freezes a node: mostly a short stall, sometimes a GC pause
// longer than half a TTL, long enough to outlive its tenure's deadline.
// The limit of the restore model judges the longest pause (2 TTL).
func (s *Sim) randomPause() {
	ttl := s.opts.TTL
	n := s.victim(s.now + int64(2*ttl))
	if n == nil {
		return
	}
	d := s.uniform(time.Millisecond, 300*time.Millisecond)
	if s.rnd.IntN(5) < 2 {
		d = s.uniform(ttl/2, 2*ttl)
	}
	s.pause(n, d)
}

package sim

import "fmt"

// Checker (d): once faults stop, no lease that a client waits for stays
// without a holder for longer than Options.LivenessBound.

// demandChange counts d more (or fewer) clients waiting for lease l.
func (c *checker) demandChange(l, d int) {
	c.demand[l] += d
	if c.demand[l] == 0 {
		c.takeAt[l] = -1 // nobody waits any more: no takeover to measure
	}
	c.vacancy(l)
}

// quietStarts begins checker (d): from now on a lease with a waiting client
// and no holder must get one within the liveness bound.
func (c *checker) quietStarts() {
	for l := range c.vacant {
		c.vacancy(l)
	}
}

// vacancy tracks, in the quiet phase, how long each wanted lease has had no
// holder, and schedules the deadline check.
func (c *checker) vacancy(l int) {
	s := c.s
	if !s.quiet {
		return
	}
	if c.demand[l] > 0 && c.holders[l] == 0 {
		if c.vacant[l] < 0 {
			c.vacant[l] = s.now
			c.vacGen[l]++
			s.push(event{at: s.now + int64(s.bound), kind: evLiveness, aux: int32(l), gen: c.vacGen[l]})
		}
		return
	}
	if c.vacant[l] >= 0 {
		c.checks.Vacancies++ // ended within the bound: livenessDue did not fire
	}
	c.vacant[l] = -1
}

func (c *checker) livenessDue(l int, gen uint32) {
	if gen != c.vacGen[l] || c.vacant[l] < 0 {
		return
	}
	s := c.s
	s.stats.events++
	var waiting []int
	for _, n := range s.nodes {
		if k := s.slotOf(n, l); k >= 0 {
			if cl := &n.clients[k]; cl.state == clAcquiring && cl.wait {
				waiting = append(waiting, n.idx)
			}
		}
	}
	s.violate(VLiveness, l, waiting, fmt.Sprintf(
		"faults stopped at %s; %s has been wanted and without a holder since %s, longer than the bound %v",
		fmtTime(s.quietAt), s.leases[l], fmtTime(c.vacant[l]), s.bound))
}

package sim

import (
	"math"

	"github.com/tenure-dev/tenure/protocol"
)

// clock is one node's local clock: piecewise linear in true time. Since the
// last rate change at true time t0 it reads l0 + rate·(t - t0), rounded
// down. The rate stays within [1-drift, 1+drift] of true time, so every
// local interval is within the bound of the true one, whatever the rate did
// before; changing the rate at an instant keeps the reading continuous.
type clock struct {
	t0   int64   // true instant of the last rate change
	l0   int64   // local reading at t0
	rate float64 // local ns per true ns
}

// local is the clock's reading at true instant t (t >= c.t0).
func (c *clock) local(t int64) protocol.Time {
	return protocol.Time(c.l0 + int64(float64(t-c.t0)*c.rate))
}

// setRate changes the rate from true instant now on.
func (c *clock) setRate(now int64, rate float64) {
	c.l0 = int64(c.local(now))
	c.t0 = now
	c.rate = rate
}

// trueAt is the earliest true instant >= now at which the clock reads at
// least l, assuming the rate does not change in between (a rate change
// reschedules every wake-up of the node).
func (c *clock) trueAt(now int64, l protocol.Time) int64 {
	if c.local(now) >= l {
		return now
	}
	t := c.t0 + int64(math.Ceil(float64(int64(l)-c.l0)/c.rate))
	if t < now {
		t = now
	}
	for c.local(t) < l { // float rounding: never wake a node before its instant
		t++
	}
	return t
}

package sim

import (
	"fmt"
	"time"
)

// Checker (a): at every true instant at most one holder believes it holds
// a lease. Beliefs start or extend only at Acquired and Renewed events
// (checker.go), so checking there is complete.

// others checks (a) when holder j's belief in lease l starts or extends: no
// other holder may believe it holds l at this instant, under another
// tenure (an agent node and its client share one).
func (c *checker) others(l, j int) bool {
	c.checks.Holders++
	conc := 1
	bj := c.at(l, j)
	for _, bk := range c.act[l] {
		k := int(bk.holder)
		if k != j && c.clk[k].local(c.s.now) < bk.deadline && bk.tenure != bj.tenure {
			conc++
			c.maxConc = max(c.maxConc, conc)
			c.s.violate(VTwoHolders, l, []int{k, j}, fmt.Sprintf(
				"%s acquired/renewed %s (token %s) while %s still believes it holds it (token %s, %s of its local time left)",
				c.s.holderName(j), c.s.leases[l], tokStr(bj.token), c.s.holderName(k), tokStr(bk.token),
				time.Duration(bk.deadline-c.clk[k].local(c.s.now))))
			return false
		}
	}
	c.maxConc = max(c.maxConc, conc)
	return true
}

package sim

import "fmt"

// Checker (b): tokens strictly increase from one tenure of a lease to the
// next, in true acquisition order.

// tokenOrder checks (b) for node n's new tenure of lease l with token tok
// and, if it holds, records the tenure as the lease's latest. It reports
// false after a violation.
func (c *checker) tokenOrder(l int, n *node, tok uint64) bool {
	s := c.s
	c.checks.Tokens++
	if c.lastNode[l] >= 0 && tok <= c.lastTok[l] && !s.opts.SkipTokenOrder {
		s.violate(VTokenOrder, l, []int{c.lastNode[l], n.idx}, fmt.Sprintf(
			"%s got token %s for %s after %s had token %s: a later tenure with a token not above the earlier one",
			n.name, tokStr(tok), s.leases[l], s.nodes[c.lastNode[l]].name, tokStr(c.lastTok[l])))
		return false
	}
	c.lastTok[l], c.lastNode[l] = tok, n.idx
	return true
}

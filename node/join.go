package node

import (
	"fmt"
	"time"
)

// Join backoff: the first retry comes after joinBackoffMin, each next one
// after twice as long, at most joinBackoffMax.
const (
	joinBackoffMin = 200 * time.Millisecond
	joinBackoffMax = 2 * time.Second
)

// join joins Config.Join, trying again with backoff while no address
// answers, until Config.JoinTimeout has passed (once when it is zero).
// Members may then start in any order: one started before the member it
// joins waits for it. The wait is on the wall clock, not Config.Clock: it
// is about processes starting, not about the protocol.
func (n *Node) join() error {
	if len(n.cfg.Join) == 0 {
		return nil
	}
	deadline := time.Now().Add(n.cfg.JoinTimeout)
	backoff := joinBackoffMin
	for try := 1; ; try++ {
		_, err := n.ml.Join(n.cfg.Join)
		if err == nil {
			if try > 1 {
				n.log.Info("joined", "join", n.cfg.Join, "tries", try)
			}
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			if n.cfg.JoinTimeout > 0 {
				return fmt.Errorf("node: join %v: no member answered in %v (%d tries; JoinTimeout): %w", n.cfg.Join, n.cfg.JoinTimeout, try, err)
			}
			return fmt.Errorf("node: join %v: %w", n.cfg.Join, err)
		}
		wait := min(backoff, left)
		if try == 1 {
			n.log.Info("no member to join answered yet; trying again", "join", n.cfg.Join, "for", n.cfg.JoinTimeout, "err", err)
		} else {
			n.log.Debug("join failed; trying again", "join", n.cfg.Join, "in", wait, "err", err)
		}
		t := time.NewTimer(wait)
		<-t.C
		backoff = min(2*backoff, joinBackoffMax)
	}
}

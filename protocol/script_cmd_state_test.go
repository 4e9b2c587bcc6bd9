package protocol

import (
	"fmt"
	"time"
)

// The handlers of the commands that print state (holders, era) and how
// scripts print messages, events and leases.

// cmdHolders prints, for one name, each node's own view (Holding) and each
// voter's slot.
func cmdHolders(s *script, c command) {
	h, name := s.h, c.pos[0]
	for _, n := range h.order {
		nd := h.nodes[n]
		if nd.down {
			s.printf("%s: down", n)
			continue
		}
		now := h.local(nd)
		line := n + ":"
		if token, dl, ok := nd.m.Holding(name); ok {
			if now < dl {
				line += fmt.Sprintf(" holds tok=%s for %v", tok(token), dl.Sub(now))
			} else {
				line += fmt.Sprintf(" holding tok=%s PAST its deadline by %v", tok(token), now.Sub(dl))
			}
		} else if nd.m.Pending(name) {
			line += " pending"
		}
		if nd.m.IsVoter() {
			if sl := nd.m.slots[name]; sl != nil {
				line += fmt.Sprintf(" | promised=%s", sl.promised)
				if l := sl.info(now); l.Live() {
					line += " lease=" + info(l)
				}
			} else {
				line += " | no slot"
			}
			if nd.m.Quarantined(now) {
				line += " (quarantined)"
			}
		}
		s.printf("%s", line)
	}
}

// cmdEra prints a node's era floor and whether it is quarantined.
func cmdEra(s *script, c command) {
	n := s.up(c.pos[0])
	now := s.h.local(n)
	line := fmt.Sprintf("%s: era=%d", n.name, n.m.Era())
	if n.m.Quarantined(now) {
		line += fmt.Sprintf(" quarantined for %v", n.m.QuarantineUntil().Sub(now))
	}
	if n.m.Verifying() {
		line += " verifying"
	}
	if n.m.StaleStart() {
		line += " stale-start"
	}
	s.printf("%s", line)
}

// cmdWake prints when a node next wants Tick, from its own now.
func cmdWake(s *script, c command) {
	n := s.up(c.pos[0])
	if w := n.m.NextWake(); w == Never {
		s.printf("%s: no wake-up", n.name)
	} else {
		s.printf("%s: wake in %v", n.name, w.Sub(s.h.local(n)))
	}
}

// cmdConfig prints a node's timing for one TTL (its DefaultTTL without
// ttl=): the attempt duration D_P, the margin m, the usable part D_P - m
// and the quarantine Q.
func cmdConfig(s *script, c command) {
	cfg := s.node(c.pos[0]).m.Config()
	ttl := cfg.DefaultTTL
	if v, ok := c.opt["ttl"]; ok {
		ttl = s.dur(v)
	}
	dp, m := cfg.AttemptDuration(ttl), cfg.margin(ttl)
	s.printf("ttl=%v D_P=%v m=%v D_P-m=%v Q=%v", ttl, dp, m, dp-m, cfg.Quarantine)
}

func (s *script) printf(format string, args ...any) {
	s.out = append(s.out, fmt.Sprintf(format, args...))
}

// event prints one event, its deadline as a duration from the node's now.
func (s *script) event(node string, e Event) {
	line := fmt.Sprintf("[+%v] %s: %s %s", s.h.now.Sub(s.start), node, e.Kind, e.Name)
	if e.Token != 0 {
		line += " tok=" + tok(e.Token)
	}
	if e.Deadline != 0 {
		line += " deadline=" + signed(e.Deadline.Sub(s.h.local(s.h.nodes[node])))
	}
	if e.Kind == EventQuery {
		line += fmt.Sprintf(" id=%d", e.QueryID)
	}
	if e.Holder.Live() || e.Kind == EventQuery {
		line += " " + info(e.Holder)
	}
	if e.Err != nil {
		line += " err=" + e.Err.Error()
	}
	s.printf("%s", line)
}

// signed formats a duration from now: +1s ahead, -1ms past.
func signed(d time.Duration) string {
	if d < 0 {
		return d.String()
	}
	return "+" + d.String()
}

// tok formats a fencing token as era.round.
func tok(t uint64) string {
	e, r := TokenBallot(t)
	return fmt.Sprintf("%d.%d", e, r)
}

func info(l LeaseInfo) string {
	if !l.Live() {
		return "open"
	}
	s := fmt.Sprintf("holder=%s rem=%v", l.Ballot, l.Remaining)
	if len(l.Value) > 0 {
		s += fmt.Sprintf(" value=%q", l.Value)
	}
	return s
}

func describe(m hmsg) string {
	head := fmt.Sprintf("%s->%s %s", m.from, m.to, m.msg.Type())
	switch x := m.msg.(type) {
	case *Prepare:
		return fmt.Sprintf("%s %s %s", head, x.Name, x.Ballot)
	case *Promise:
		return fmt.Sprintf("%s %s %s", head, x.Name, info(x.Holder))
	case *Reject:
		s := fmt.Sprintf("%s %s promised=%s", head, x.Name, x.Promised)
		if x.Holder.Live() {
			s += " " + info(x.Holder)
		}
		return s
	case *Propose:
		s := fmt.Sprintf("%s %s %s ttl=%v", head, x.Name, x.Ballot, x.TTL)
		if x.LockDelay != 0 {
			s += fmt.Sprintf(" lockdelay=%v", x.LockDelay)
		}
		return s
	case *Accepted:
		return fmt.Sprintf("%s %s", head, x.Name)
	case *Release:
		return fmt.Sprintf("%s %s %s", head, x.Name, x.Ballot)
	case *Query:
		return fmt.Sprintf("%s %s", head, x.Name)
	case *QueryReply:
		return fmt.Sprintf("%s %s %s", head, x.Name, info(x.Holder))
	case *Vacant:
		return fmt.Sprintf("%s %s", head, x.Name)
	case *Hello:
		return fmt.Sprintf("%s boot=%d", head, x.Boot)
	case *HelloReply:
		s := fmt.Sprintf("%s boot=%d seen=%d era=%d", head, x.Boot, x.Seen, x.Era)
		if x.Stale {
			s += " stale"
		}
		return s
	}
	return head
}

package check

import (
	"fmt"
	"sort"
	"time"
)

// Tenure is one client's holding of a lease, by its own account (see the
// package documentation, section 3).
type Tenure struct {
	Client int    `json:"client"`
	Agent  string `json:"agent"`
	Key    string `json:"key"`
	Token  uint64 `json:"token,string"`
	// Acquire identifies the acquire the tenure comes from: when the
	// client sent it. With Client it names one grant of the agent; the
	// stretches a late keepalive starts (package documentation, section 3)
	// share it.
	Acquire int64 `json:"acquire"`
	// Start is when the grant arrived; End is the earlier of the release
	// being sent and the client's own deadline.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// Tenures derives every client's tenures from its Acquire, KeepAlive and
// Release operations. Tenures that ended before they began (the grant
// arrived after its own deadline) are left out: the client never held them.
func (h *History) Tenures() []Tenure {
	byClient := make(map[int][]Op)
	for _, op := range h.Ops {
		if op.Kind == Acquire || op.Kind == KeepAlive || op.Kind == Release {
			byClient[op.Client] = append(byClient[op.Client], op)
		}
	}
	clients := make([]int, 0, len(byClient))
	for c := range byClient {
		clients = append(clients, c)
	}
	sort.Ints(clients)
	var out []Tenure
	for _, c := range clients {
		ops := byClient[c]
		sort.SliceStable(ops, func(i, j int) bool { return ops[i].Start < ops[j].Start })
		var cur *Tenure
		var deadline int64
		var last Op // the client's latest granted Acquire
		closeAt := func(t int64) {
			if cur == nil {
				return
			}
			cur.End = min(t, deadline)
			if cur.End > cur.Start {
				out = append(out, *cur)
			}
			cur = nil
		}
		for _, op := range ops {
			switch op.Kind {
			case Acquire:
				closeAt(op.Start)
				if op.Outcome == Ok {
					last = op
					cur = &Tenure{Client: c, Agent: op.Agent, Key: op.Key, Token: op.Token, Acquire: op.Start, Start: op.End}
					deadline = op.Start + op.DeadlineMS*int64(time.Millisecond)
				}
			case KeepAlive:
				if op.Outcome != Ok || op.Token != last.Token || op.Key != last.Key {
					break // R11: a failed renewal extends nothing
				}
				ka := op.Start + op.DeadlineMS*int64(time.Millisecond)
				if cur != nil && op.Start < deadline {
					deadline = max(deadline, ka)
					break
				}
				// Sent after the client's own deadline (a grant that arrived
				// late, say), yet the agent still held the tenure: the
				// client holds it again from this answer on.
				closeAt(op.Start)
				cur = &Tenure{Client: c, Agent: op.Agent, Key: op.Key, Token: op.Token, Acquire: last.Start, Start: op.End}
				deadline = ka
			case Release:
				if cur != nil && op.Token == cur.Token {
					closeAt(op.Start)
				}
			}
		}
		closeAt(deadline)
	}
	return out
}

// String describes t for violation reports.
func (t Tenure) String() string {
	return fmt.Sprintf("client %d via %s token %d [%s, %s] (acquire sent %s)", t.Client, t.Agent, t.Token, fmtTime(t.Start), fmtTime(t.End), fmtTime(t.Acquire))
}

// fmtTime renders a history instant as seconds since the origin.
func fmtTime(ns int64) string { return fmt.Sprintf("%.6fs", float64(ns)/1e9) }

// checkOverlap reports every two tenures of one key, held by different
// clients, whose intervals intersect.
func checkOverlap(ts []Tenure) []Violation {
	var vs []Violation
	for key, list := range byKey(ts) {
		sort.Slice(list, func(i, j int) bool { return list[i].Start < list[j].Start })
		for i := range list {
			for j := i + 1; j < len(list) && list[j].Start < list[i].End; j++ {
				if list[i].Client != list[j].Client {
					vs = append(vs, Violation{Check: "overlap", Key: key,
						Detail: fmt.Sprintf("two holders at once: %v and %v", list[i], list[j])})
				}
			}
		}
	}
	return vs
}

// checkTokens reports a tenure whose token is not above that of a tenure of
// the same key that ended before it began (R12). An equal token is allowed
// only for another stretch of the same grant: the same client's same
// acquire, re-stretched by a keepalive sent after the client's own deadline.
// An agent never answers a new acquire with a tenure it already holds (the
// node serves one tenure per name at a time and every grant is a new
// ballot), so an equal token from another acquire, through any agent, is a
// reused token: the fence admits equal tokens, and a zombie write of the
// earlier tenure could overwrite the later one's.
func checkTokens(ts []Tenure) []Violation {
	var vs []Violation
	for key, list := range byKey(ts) {
		byStart := append([]Tenure(nil), list...)
		sort.Slice(byStart, func(i, j int) bool { return byStart[i].Start < byStart[j].Start })
		byEnd := append([]Tenure(nil), list...)
		sort.Slice(byEnd, func(i, j int) bool { return byEnd[i].End < byEnd[j].End })
		var best *Tenure // highest token among tenures ended so far
		e := 0
		for _, t := range byStart {
			for e < len(byEnd) && byEnd[e].End <= t.Start {
				if best == nil || byEnd[e].Token > best.Token {
					best = &byEnd[e]
				}
				e++
			}
			if best == nil {
				continue
			}
			if t.Token < best.Token || (t.Token == best.Token && !sameGrant(t, *best)) {
				vs = append(vs, Violation{Check: "tokens", Key: key,
					Detail: fmt.Sprintf("token did not increase: %v began after %v ended", t, *best)})
			}
		}
	}
	return vs
}

// sameGrant reports whether a and b are stretches of one grant: the same
// client's same acquire.
func sameGrant(a, b Tenure) bool { return a.Client == b.Client && a.Acquire == b.Acquire }

// byKey groups tenures by key.
func byKey(ts []Tenure) map[string][]Tenure {
	m := make(map[string][]Tenure)
	for _, t := range ts {
		m[t.Key] = append(m[t.Key], t)
	}
	return m
}

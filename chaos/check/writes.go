package check

import (
	"fmt"
	"sort"
)

// checkStaleAcked reports every acknowledged write whose token is below
// that of a write acknowledged before it was sent: the register admitted a
// stale holder.
func checkStaleAcked(h *History) []Violation {
	acked := make(map[string][]Op)
	for _, op := range h.Ops {
		if op.Kind == Write && op.Outcome == Ok {
			acked[op.Key] = append(acked[op.Key], op)
		}
	}
	var vs []Violation
	for key, list := range acked {
		byStart := append([]Op(nil), list...)
		sort.Slice(byStart, func(i, j int) bool { return byStart[i].Start < byStart[j].Start })
		byEnd := append([]Op(nil), list...)
		sort.Slice(byEnd, func(i, j int) bool { return byEnd[i].End < byEnd[j].End })
		var best *Op
		e := 0
		for _, w := range byStart {
			for e < len(byEnd) && byEnd[e].End < w.Start {
				if best == nil || byEnd[e].Token > best.Token {
					best = &byEnd[e]
				}
				e++
			}
			if best != nil && w.Token < best.Token {
				vs = append(vs, Violation{Check: "stale-write", Key: key,
					Detail: fmt.Sprintf("write %q token %d by client %d at %s acknowledged after write %q token %d was acknowledged at %s",
						w.Value, w.Token, w.Client, fmtTime(w.Start), best.Value, best.Token, fmtTime(best.End))})
			}
		}
	}
	return vs
}

// checkLost reports a key whose final read (after the register restarted)
// does not return the last acknowledged write or a write that may have
// landed after it.
func checkLost(h *History) []Violation {
	cut := h.cut()
	last := make(map[string]Op)  // per key: the acknowledged write that ended last
	final := make(map[string]Op) // per key: the final read
	writes := make(map[string]Op)
	for _, op := range h.Ops {
		switch {
		case op.Kind == Read && op.Final && op.Outcome == Ok:
			final[op.Key] = op
		case op.Kind == Write && op.Outcome == Ok:
			if l, ok := last[op.Key]; !ok || op.End > l.End {
				last[op.Key] = op
			}
			writes[op.Key+"\x00"+op.Value] = op
		case op.Kind == Write && op.Outcome == Unknown:
			writes[op.Key+"\x00"+op.Value] = op
		}
	}
	var vs []Violation
	keys := make([]string, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		l := last[key]
		f, ok := final[key]
		if !ok {
			vs = append(vs, Violation{Check: "lost", Key: key, Detail: "no final read of a key with acknowledged writes"})
			continue
		}
		if f.Value == l.Value && f.Token == l.Token {
			continue
		}
		w, ok := writes[key+"\x00"+f.Value]
		end := w.End
		if ok && w.Outcome == Unknown {
			end = max(cut, w.End)
		}
		if ok && w.Token == f.Token && w.Token >= l.Token && end > l.Start {
			continue // a write that may have landed after the last acknowledged one
		}
		vs = append(vs, Violation{Check: "lost", Key: key,
			Detail: fmt.Sprintf("final read %q token %d, but write %q token %d by client %d was acknowledged at %s",
				f.Value, f.Token, l.Value, l.Token, l.Client, fmtTime(l.End))})
	}
	return vs
}

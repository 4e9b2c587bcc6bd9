package sim

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// Timeline is a run's history as the timeline page draws it: who held each
// lease when, and when nodes were down or paused and the network cut.
type Timeline struct {
	Nodes      []string
	Leases     []string
	End        time.Duration // true time the run stopped
	QuietAt    time.Duration // faults stopped (0 if never)
	Holds      []Hold
	Outages    []Outage
	Partitions []Cut
	Violation  *Violation
}

// Hold is one belief of one node that it held a lease, in true time.
type Hold struct {
	Lease, Node int
	Token       uint64
	Start, End  time.Duration
}

// Outage is a node down (crashed or shut down) or paused.
type Outage struct {
	Node       int
	Paused     bool
	Start, End time.Duration
}

// Cut is one partition.
type Cut struct {
	Desc       string
	Start, End time.Duration
}

// timelineRec collects the timeline while a run goes.
type timelineRec struct {
	holds     []Hold
	openHold  map[[2]int]int // (lease, node) -> index in holds
	outages   []Outage
	openDown  map[int]int
	openPause map[int]int
	violAt    int64
}

const openEnd = -1

func (t *timelineRec) init() {
	t.openHold = map[[2]int]int{}
	t.openDown = map[int]int{}
	t.openPause = map[int]int{}
	t.violAt = -1
}

func (t *timelineRec) holdStart(l, node int, tok uint64, at int64) {
	t.openHold[[2]int{l, node}] = len(t.holds)
	t.holds = append(t.holds, Hold{Lease: l, Node: node, Token: tok, Start: time.Duration(at), End: openEnd})
}

func (t *timelineRec) holdEnd(l, node int, at int64) {
	k := [2]int{l, node}
	if i, ok := t.openHold[k]; ok {
		t.holds[i].End = max(time.Duration(at), t.holds[i].Start)
		delete(t.openHold, k)
	}
}

func (t *timelineRec) down(node int, at int64) {
	if i, ok := t.openPause[node]; ok {
		t.outages[i].End = time.Duration(at)
		delete(t.openPause, node)
	}
	t.openDown[node] = len(t.outages)
	t.outages = append(t.outages, Outage{Node: node, Start: time.Duration(at), End: openEnd})
}

func (t *timelineRec) up(node int, at int64) {
	if i, ok := t.openDown[node]; ok {
		t.outages[i].End = time.Duration(at)
		delete(t.openDown, node)
	}
}

func (t *timelineRec) pause(node int, at, until int64) {
	t.openPause[node] = len(t.outages)
	t.outages = append(t.outages, Outage{Node: node, Paused: true, Start: time.Duration(at), End: time.Duration(until)})
}

func (t *timelineRec) unpause(node int, at int64) {
	if i, ok := t.openPause[node]; ok {
		t.outages[i].End = time.Duration(at)
		delete(t.openPause, node)
	}
}

func (t *timelineRec) violation(at int64, l int) { t.violAt = at }

// timeline closes what is still open at the end of the run.
func (s *Sim) timeline() *Timeline {
	t := s.tl
	end := time.Duration(s.now)
	tl := &Timeline{End: end, Violation: s.viol, Leases: append([]string(nil), s.leases...)}
	if s.quiet {
		tl.QuietAt = time.Duration(s.quietAt)
	}
	for _, n := range s.nodes {
		tl.Nodes = append(tl.Nodes, n.name)
	}
	for _, h := range t.holds {
		if h.End == openEnd {
			// Still believed at the end: it lasts until the node's clock
			// reaches the deadline, or the end of the run.
			// A run that stopped at a violation shows the beliefs it
			// cut short until their deadlines, so the overlap is visible.
			h.End = end
			if b := s.chk.at(h.Lease, h.Node); b != nil && b.token == h.Token {
				h.End = time.Duration(b.estEnd)
				if s.viol == nil {
					h.End = min(end, h.End)
				}
			}
		}
		tl.Holds = append(tl.Holds, h)
	}
	for _, o := range t.outages {
		if o.End == openEnd || o.End > end {
			o.End = end
		}
		tl.Outages = append(tl.Outages, o)
	}
	for _, p := range s.net.parts {
		e := time.Duration(p.end)
		if p.active || p.end < 0 {
			e = end
		}
		tl.Partitions = append(tl.Partitions, Cut{Desc: p.desc, Start: time.Duration(p.start), End: e})
	}
	return tl
}

// palette gives each node its own colour (cycling beyond twelve nodes).
var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948",
	"#9c755f", "#ff9da7", "#86bcb6", "#8cd17d", "#a0cbe8", "#d37295"}

func nodeColor(i int) string { return palette[i%len(palette)] }

// WriteTimelineHTML writes a self-contained page (inline SVG and CSS, no
// script, nothing fetched) for a run recorded with Options.RecordTimeline:
// an overview of the whole run and a detail view of a short window (around
// the violation if there is one, else the start of the run).
func WriteTimelineHTML(w io.Writer, r *Result, o Options) error {
	tl := r.Timeline
	if tl == nil {
		return fmt.Errorf("%w: the run was not recorded with RecordTimeline", ErrOptions)
	}
	var b strings.Builder
	title := fmt.Sprintf("tenure sim, seed %d", r.Seed)
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:16px 20px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:18px 0 6px}
.meta{color:#555;margin-bottom:8px} .bad{color:#b00;font-weight:600}
.legend span{display:inline-block;margin-right:14px} .sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;border-radius:2px}
svg text{font:12px system-ui,sans-serif} pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}
</style></head><body>
`, html.EscapeString(title))
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(title))
	fmt.Fprintf(&b, `<div class="meta">%d voters + %d client nodes, %d leases, TTL %v, drift %g (assumed %g), %v simulated (faults stop at %v); %d grants, availability %.1f%%, trace %s…</div>`+"\n",
		o.Voters, o.Clients, o.Leases, o.TTL, o.Drift, o.AssumedDrift, tl.End.Round(time.Millisecond), o.Duration,
		r.Grants, 100*r.Availability, r.TraceDigest[:16])
	if v := tl.Violation; v != nil {
		fmt.Fprintf(&b, `<div class="bad">VIOLATION %s on %s at %s: %s</div>`+"\n",
			html.EscapeString(string(v.Kind)), html.EscapeString(v.Lease), fmtTime(int64(v.At)), html.EscapeString(v.Detail))
	} else {
		b.WriteString(`<div>No violation.</div>` + "\n")
	}
	b.WriteString(`<div class="legend">`)
	for i, n := range tl.Nodes {
		fmt.Fprintf(&b, `<span><i class="sw" style="background:%s"></i>%s</span>`, nodeColor(i), html.EscapeString(n))
	}
	b.WriteString(`<span><i class="sw" style="background:#555"></i>down</span><span><i class="sw" style="background:#bdbdbd"></i>paused</span><span><i class="sw" style="background:#e8d5f5"></i>partition</span><span><i class="sw" style="background:#d00"></i>violation</span></div>` + "\n")

	from, to := time.Duration(0), min(tl.End, 20*time.Second)
	if v := tl.Violation; v != nil {
		from = max(0, v.At-12*time.Second)
		to = v.At + 3*time.Second
		c0, c1 := max(0, v.At-200*time.Millisecond), v.At+100*time.Millisecond
		fmt.Fprintf(&b, "<h2>Close-up of the violation: %s to %s</h2>\n", fmtTime(int64(c0)), fmtTime(int64(c1)))
		svgTimeline(&b, tl, c0, c1, true)
	}
	fmt.Fprintf(&b, "<h2>Detail: %s to %s</h2>\n", fmtTime(int64(from)), fmtTime(int64(to)))
	svgTimeline(&b, tl, from, to, true)
	fmt.Fprintf(&b, "<h2>Whole run: 0 to %s</h2>\n", fmtTime(int64(tl.End)))
	svgTimeline(&b, tl, 0, tl.End, false)
	if v := tl.Violation; v != nil {
		fmt.Fprintf(&b, "<h2>Last events before the violation</h2>\n<pre>%s</pre>\n", html.EscapeString(strings.Join(v.Last, "\n")))
		if v.Replay != "" {
			fmt.Fprintf(&b, "<p>Replay: <code>%s</code></p>\n", html.EscapeString(v.Replay))
		}
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// svgTimeline draws one view of the run between true instants from and to.
// Rows: one per lease (holder bars, token on each bar when it fits), then
// one per node (down and paused), then the network (partitions).
func svgTimeline(b *strings.Builder, tl *Timeline, from, to time.Duration, labels bool) {
	const (
		width  = 1340
		left   = 70
		right  = 10
		rowH   = 26
		gap    = 6
		axisH  = 22
		barPad = 3
	)
	if to <= from {
		to = from + time.Second
	}
	plotW := float64(width - left - right)
	x := func(t time.Duration) float64 {
		t = min(max(t, from), to)
		return left + plotW*float64(t-from)/float64(to-from)
	}
	nl, nn := len(tl.Leases), len(tl.Nodes)
	// Overlapping beliefs (a violation) go to separate lanes of the row.
	lane := make([]int, len(tl.Holds))
	lanes := make([]int, nl)
	laneEnd := make([][]time.Duration, nl)
	for i, h := range tl.Holds {
		k := 0
		for k < len(laneEnd[h.Lease]) && laneEnd[h.Lease][k] > h.Start {
			k++
		}
		if k == len(laneEnd[h.Lease]) {
			laneEnd[h.Lease] = append(laneEnd[h.Lease], 0)
		}
		laneEnd[h.Lease][k] = h.End
		lane[i] = k
		lanes[h.Lease] = max(lanes[h.Lease], k+1)
	}
	// A row is as tall as its lanes need.
	rowTop := make([]int, nl+1)
	rowTop[0] = axisH
	for l := range nl {
		rowTop[l+1] = rowTop[l] + rowH + (max(1, lanes[l])-1)*(rowH-2*barPad)
	}
	leaseY := func(l int) int { return rowTop[l] }
	leaseH := func(l int) int { return rowTop[l+1] - rowTop[l] }
	nodeTop := rowTop[nl] + gap + 14
	nodeY := func(i int) int { return nodeTop + i*(rowH-6) }
	netY := nodeTop + nn*(rowH-6) + gap
	height := netY + rowH + 4
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`+"\n", width, height, width, height)
	fmt.Fprintf(b, `<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`+"\n", width, height)
	// Partitions shade the whole height faintly, and their own row fully.
	for _, p := range tl.Partitions {
		if p.End < from || p.Start > to {
			continue
		}
		x0, x1 := x(p.Start), x(p.End)
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#e8d5f5" opacity="0.35"/>`+"\n", x0, axisH, max(x1-x0, 0.5), netY-axisH)
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#c9a6e4"><title>%s, %s to %s</title></rect>`+"\n",
			x0, netY+barPad, max(x1-x0, 1), rowH-2*barPad, html.EscapeString(p.Desc), fmtTime(int64(p.Start)), fmtTime(int64(p.End)))
		if labels && x1-x0 > float64(7*len(p.Desc)) {
			fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#3d2352">%s</text>`+"\n", max(x0, left)+4, netY+rowH/2+4, html.EscapeString(p.Desc))
		}
	}
	if tl.QuietAt > from && tl.QuietAt < to {
		qx := x(tl.QuietAt)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#2a7" stroke-dasharray="4 3"/><text x="%.1f" y="%d" fill="#2a7">faults stop</text>`+"\n",
			qx, axisH-4, qx, height, qx+3, height-6)
	}
	// Time axis.
	step := niceStep(to - from)
	for t := (from + step - 1) / step * step; t <= to; t += step {
		tx := x(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" fill="#666" text-anchor="middle">%s</text>`+"\n",
			tx, axisH-4, tx, height, tx, axisH-8, axisLabel(t, step))
	}
	// Row labels and lease bars.
	for l, name := range tl.Leases {
		y := leaseY(l)
		fmt.Fprintf(b, `<text x="6" y="%d" font-weight="600">%s</text>`+"\n", y+leaseH(l)/2+4, html.EscapeString(name))
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eee"/>`+"\n", left, y+leaseH(l), width-right, y+leaseH(l))
	}
	for i, h := range tl.Holds {
		if h.End < from || h.Start > to {
			continue
		}
		x0, x1 := x(h.Start), x(h.End)
		laneH := rowH - 2*barPad
		y := leaseY(h.Lease) + lane[i]*laneH
		e, r := protocol.TokenBallot(h.Token)
		tok := fmt.Sprintf("%d.%d", e, r)
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" rx="2" fill="%s" stroke="#fff" stroke-width="0.5"><title>%s holds %s, token %s, %s to %s</title></rect>`+"\n",
			x0, y+barPad, max(x1-x0, 1), laneH, nodeColor(h.Node),
			html.EscapeString(tl.Nodes[h.Node]), html.EscapeString(tl.Leases[h.Lease]), tok, fmtTime(int64(h.Start)), fmtTime(int64(h.End)))
		label := tl.Nodes[h.Node] + " " + tok
		ty := y + barPad + laneH/2 + 4
		if labels && x1-x0 > float64(7*len(label)) {
			fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#fff">%s</text>`+"\n", max(x0, left)+4, ty, html.EscapeString(label))
		} else if labels && x1-x0 > float64(7*len(tok)) {
			fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#fff">%s</text>`+"\n", max(x0, left)+3, ty, tok)
		}
	}
	// Node rows: down and paused.
	for i, name := range tl.Nodes {
		y := nodeY(i)
		fmt.Fprintf(b, `<text x="6" y="%d" fill="%s" font-weight="600">%s</text>`+"\n", y+(rowH-6)/2+4, nodeColor(i), html.EscapeString(name))
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#f2f2f2"/>`+"\n", left, y+rowH-6, width-right, y+rowH-6)
	}
	for _, o := range tl.Outages {
		if o.End < from || o.Start > to {
			continue
		}
		x0, x1 := x(o.Start), x(o.End)
		fill, what := "#555", "down"
		if o.Paused {
			fill, what = "#bdbdbd", "paused"
		}
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s, %s to %s</title></rect>`+"\n",
			x0, nodeY(o.Node)+3, max(x1-x0, 1), rowH-12, fill, html.EscapeString(tl.Nodes[o.Node]), what, fmtTime(int64(o.Start)), fmtTime(int64(o.End)))
	}
	fmt.Fprintf(b, `<text x="6" y="%d" fill="#7a4f9a" font-weight="600">network</text>`+"\n", netY+rowH/2+4)
	if v := tl.Violation; v != nil && v.At >= from && v.At <= to {
		vx := x(v.At)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d00" stroke-width="2"/>`+"\n", vx, axisH-4, vx, height)
		anchor, tx := "start", vx+4
		if vx > width-200 {
			anchor, tx = "end", vx-4
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#d00" font-weight="700" text-anchor="%s">%s %s</text>`+"\n", tx, height-6, anchor, html.EscapeString(string(v.Kind)), html.EscapeString(v.Lease))
	}
	b.WriteString("</svg>\n")
}

// niceStep picks a tick spacing giving about ten ticks.
func niceStep(span time.Duration) time.Duration {
	for _, s := range []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute} {
		if span/s <= 14 {
			return s
		}
	}
	return 10 * time.Minute
}

func axisLabel(t, step time.Duration) string {
	if step < time.Second {
		return fmt.Sprintf("%.2fs", t.Seconds())
	}
	if t >= time.Minute && step >= time.Minute {
		return fmt.Sprintf("%dm", int(t.Minutes()))
	}
	return fmt.Sprintf("%ds", int(t.Seconds()))
}

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// isTerminal reports whether w is a character device (a terminal; also
// /dev/null, where a progress line costs nothing).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressRedraw is how often the progress line is redrawn at most.
const progressRedraw = 250 * time.Millisecond

// sweepProgress draws the progress of a tenure sim sweep on one line of a
// terminal, redrawn in place.
type sweepProgress struct {
	w     io.Writer
	total int
	now   func() time.Time
	start time.Time
	last  time.Time // of the last redraw
	drawn bool
}

func newSweepProgress(w io.Writer, total int, now func() time.Time) *sweepProgress {
	return &sweepProgress{w: w, total: total, now: now, start: now()}
}

// update is sim.Sweep's progress callback: done runs finished, events
// simulated by them.
func (p *sweepProgress) update(done int, events uint64) {
	t := p.now()
	if p.drawn && done < p.total && t.Sub(p.last) < progressRedraw {
		return
	}
	p.last, p.drawn = t, true
	fmt.Fprintf(p.w, "\r%s\x1b[K", progressLine(done, p.total, events, t.Sub(p.start)))
}

// end ends the progress line, if one was drawn, so that what follows
// starts on a line of its own. A nil p does nothing.
func (p *sweepProgress) end() {
	if p != nil && p.drawn {
		fmt.Fprintln(p.w)
	}
}

// progressLine is the text of the progress line after done of total
// seeds, events simulated events, elapsed wall time: a bar, the seeds,
// the simulated events per second and the time left (estimated from the
// rate so far).
func progressLine(done, total int, events uint64, elapsed time.Duration) string {
	done = min(max(done, 0), total)
	const width = 30
	fill := 0
	if total > 0 {
		fill = done * width / total
	}
	pct := 100
	if total > 0 {
		pct = done * 100 / total
	}
	rate := "- events/s"
	if s := elapsed.Seconds(); s > 0 {
		rate = fmt.Sprintf("%.2f M events/s", float64(events)/s/1e6)
	}
	eta := "ETA -"
	switch {
	case done >= total:
		eta = "done in " + elapsed.Round(time.Second).String()
	case done > 0:
		left := time.Duration(float64(elapsed) * float64(total-done) / float64(done))
		eta = "ETA " + left.Round(time.Second).String()
	}
	return fmt.Sprintf("[%s%s] %d/%d seeds (%d%%)  %s  %s",
		strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, total, pct, rate, eta)
}

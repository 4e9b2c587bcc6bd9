package sim

import "io"

// timelineRec collects what the timeline page draws.
type timelineRec struct{}

func (t *timelineRec) down(node int, at int64)                     {}
func (t *timelineRec) up(node int, at int64)                       {}
func (t *timelineRec) pause(node int, at, until int64)             {}
func (t *timelineRec) unpause(node int, at int64)                  {}
func (t *timelineRec) holdStart(l, node int, tok uint64, at int64) {}
func (t *timelineRec) holdEnd(l, node int, at int64)               {}
func (t *timelineRec) violation(at int64, l int)                   {}

// Timeline is a run's history for the HTML page.
type Timeline struct{}

func (s *Sim) timeline() *Timeline { return &Timeline{} }

// WriteTimelineHTML writes the timeline page of a run recorded with
// Options.RecordTimeline.
func WriteTimelineHTML(w io.Writer, r *Result, o Options) error { return nil }

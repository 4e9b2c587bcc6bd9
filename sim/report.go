package sim

import "time"

// stats are the run's counters.
type stats struct {
	events    uint64 // heap pops that did something
	messages  uint64 // protocol messages sent
	datagrams uint64
}

// Result is what one run produced.
type Result struct {
	// Seed is the run's seed.
	Seed uint64
	// Violation is the first broken invariant, nil if none.
	Violation *Violation
	// Grants counts EventAcquired.
	Grants uint64
	// MaxConcurrentHolders is the most nodes believing they held one lease
	// at one instant.
	MaxConcurrentHolders int
	// Availability is the mean over leases of the fraction of the run the
	// lease had a holder.
	Availability float64
	// Failovers are the times from a holder's crash to the lease's next
	// grant.
	Failovers []time.Duration
	// Messages and Datagrams count protocol messages and the datagrams that
	// carried them.
	Messages, Datagrams uint64
	// Events counts heap pops that did something (see Summary.Events).
	Events uint64
	// Writes and Rejected count the fenced resource's decisions.
	Writes, Rejected uint64
	// SimTime is the true time simulated; Wall the real time it took.
	SimTime, Wall time.Duration
	// TraceDigest is the sha256 of the trace.
	TraceDigest string
	// Timeline is the recorded history (Options.RecordTimeline).
	Timeline *Timeline
	// Operator counts the operator's actions (Options.Operator).
	Operator OperatorStats
}

func (s *Sim) result(wall time.Duration) *Result {
	r := &Result{
		Seed:                 s.opts.Seed,
		Violation:            s.viol,
		Grants:               s.chk.grants,
		MaxConcurrentHolders: s.chk.maxConc,
		Availability:         s.chk.availability(),
		Messages:             s.stats.messages,
		Datagrams:            s.stats.datagrams,
		Events:               s.stats.events,
		Writes:               s.res.nAcc,
		Rejected:             s.res.nRej,
		SimTime:              time.Duration(s.now),
		Wall:                 wall,
		TraceDigest:          s.tr.digest(),
		Operator:             s.ops,
	}
	for _, f := range s.chk.failovers {
		r.Failovers = append(r.Failovers, time.Duration(f))
	}
	if s.tl != nil {
		r.Timeline = s.timeline()
	}
	return r
}

// Violation returns the first violation so far, or nil.
func (s *Sim) Violation() *Violation { return s.viol }

// Now is the simulator's true time.
func (s *Sim) Now() time.Duration { return time.Duration(s.now) }

// TraceDigest is the sha256 of the trace so far.
func (s *Sim) TraceDigest() string { return s.tr.digest() }

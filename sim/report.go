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
	Seed                 uint64
	Violation            *Violation
	Grants               uint64
	MaxConcurrentHolders int
	Availability         float64
	Failovers            []time.Duration
	Messages             uint64
	Datagrams            uint64
	Events               uint64
	Writes, Rejected     uint64
	SimTime              time.Duration
	Wall                 time.Duration
	TraceDigest          string
	Timeline             *Timeline
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

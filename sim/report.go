package sim

import "time"

// stats are the run's counters.
type stats struct {
	events    uint64 // heap pops that did something
	messages  uint64 // protocol messages sent
	datagrams uint64
	toVoter   []uint64 // messages sent to each voter (node index < Voters)
	dgToVoter []uint64 // datagrams sent to each voter
}

// Checks count how often each checker judged something in a run: (a) a
// belief that started or moved its deadline, (b) a new tenure's token, (c)
// an accepted fenced write, (d) a vacancy of a wanted lease in the quiet
// phase that ended within the bound, (e) a machine's local invariants. A
// run that is clean with a zero here checked nothing of that kind.
type Checks struct {
	// Holders counts checks of (a): beliefs started or extended.
	Holders uint64 `json:"holders"`
	// Tokens counts checks of (b): new tenures.
	Tokens uint64 `json:"tokens"`
	// Writes counts checks of (c): accepted fenced writes.
	Writes uint64 `json:"writes"`
	// Vacancies counts checks of (d): quiet-phase vacancies that ended in time.
	Vacancies uint64 `json:"vacancies"`
	// Invariants counts checks of (e): machines' local invariants.
	Invariants uint64 `json:"invariants"`
}

func (c *Checks) add(o Checks) {
	c.Holders += o.Holders
	c.Tokens += o.Tokens
	c.Writes += o.Writes
	c.Vacancies += o.Vacancies
	c.Invariants += o.Invariants
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
	// Takeovers are the times from a tenure's end other than by release (its
	// holder crashed, abandoned it without a word, or lost it: a pause, a
	// partition, lost renewals) while another client waited for the lease,
	// to the lease's next grant; a measurement is dropped if every waiter
	// gives up first.
	Takeovers []time.Duration
	// Messages and Datagrams count protocol messages and the datagrams that
	// carried them.
	Messages, Datagrams uint64
	// VoterMessages and VoterDatagrams count the messages and datagrams
	// sent to each voter (n1..nV, in order), lost ones included.
	VoterMessages, VoterDatagrams []uint64
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
	// Checks counts the checkers' judgements.
	Checks Checks
	// Reconfig counts the voter changes (Options.Reconfig).
	Reconfig ReconfigStats
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
		VoterMessages:        append([]uint64(nil), s.stats.toVoter...),
		VoterDatagrams:       append([]uint64(nil), s.stats.dgToVoter...),
		Events:               s.stats.events,
		Writes:               s.res.nAcc,
		Rejected:             s.res.nRej,
		SimTime:              time.Duration(s.now),
		Wall:                 wall,
		TraceDigest:          s.tr.digest(),
		Operator:             s.ops,
		Checks:               s.chk.checks,
		Reconfig:             s.rcw.stats,
	}
	for _, f := range s.chk.failovers {
		r.Failovers = append(r.Failovers, time.Duration(f))
	}
	for _, f := range s.chk.takeovers {
		r.Takeovers = append(r.Takeovers, time.Duration(f))
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

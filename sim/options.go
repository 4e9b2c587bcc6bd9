package sim

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// ErrOptions wraps every refusal of Options.Validate; the message names the
// field.
var ErrOptions = errors.New("sim: invalid options")

// Faults are the rates of everything that can go wrong. Network figures
// apply to each datagram; the three fault rates are mean events per
// simulated minute for the whole cluster (Poisson arrivals).
type Faults struct {
	// Loss is the probability that a datagram is lost.
	Loss float64
	// Dup is the probability that a datagram is delivered twice (the copy
	// takes its own random delay).
	Dup float64
	// DelayMin and DelayMax bound the uniform one-way delay of a datagram.
	// Reordering follows from the spread.
	DelayMin, DelayMax time.Duration
	// Tail is the probability that a datagram (or a fenced write) is held
	// up for a long time instead: uniform in [DelayMax, TailMax]. It models
	// a stuck queue and is what lets stale messages arrive very late.
	Tail float64
	// TailMax bounds the tail delay; zero means 2×TTL.
	TailMax time.Duration
	// Partitions, Crashes and Pauses are mean events per simulated minute.
	Partitions, Crashes, Pauses float64
	// CleanShare is the fraction of crash events that are clean shutdowns
	// (Snapshot, then StartClean) instead of crashes.
	CleanShare float64
}

// FaultPreset names a preset of Faults.
type FaultPreset int

// The presets of the --faults flag.
const (
	// FaultsNone: a perfect network (1–5 ms delay), no node faults.
	FaultsNone FaultPreset = 1 + iota
	// FaultsMild: 1% loss and duplication, 1–30 ms delay, about one
	// partition and one crash and two pauses per simulated minute.
	FaultsMild
	// FaultsHarsh: 5% loss and duplication, 1–80 ms delay with a 1% tail of
	// very late datagrams, several partitions, crashes and pauses a minute.
	FaultsHarsh
)

// ParseFaultPreset maps a --faults value to its preset.
func ParseFaultPreset(s string) (FaultPreset, error) {
	switch s {
	case "none":
		return FaultsNone, nil
	case "mild":
		return FaultsMild, nil
	case "harsh":
		return FaultsHarsh, nil
	}
	return 0, fmt.Errorf("%w: faults %q: want none, mild or harsh", ErrOptions, s)
}

// Preset returns the fault rates of p; the rates of the fault kinds come
// from their rows in faultKinds. An unknown p gives the mild preset.
func Preset(p FaultPreset) Faults {
	var o Options
	switch p {
	case FaultsNone:
		o.Faults = Faults{DelayMin: time.Millisecond, DelayMax: 5 * time.Millisecond}
	case FaultsHarsh:
		o.Faults = Faults{Loss: 0.05, Dup: 0.05, DelayMin: time.Millisecond, DelayMax: 80 * time.Millisecond,
			Tail: 0.01, CleanShare: 0.25}
	default:
		p = FaultsMild
		o.Faults = Faults{Loss: 0.01, Dup: 0.01, DelayMin: time.Millisecond, DelayMax: 30 * time.Millisecond,
			CleanShare: 0.25}
	}
	for _, fk := range faultKinds {
		if fk.Preset != nil {
			*fk.Rate(&o) = fk.Preset[p-FaultsNone]
		}
	}
	return o.Faults
}

// QuarantineMode says which quarantine (R9) the simulated nodes run with.
type QuarantineMode int

// The quarantine modes.
const (
	// QuarantineSafe: the safe value the protocol computes (the default).
	QuarantineSafe QuarantineMode = iota
	// QuarantineNone: no quarantine at all (R9 broken; the protocol
	// config's Unsafe is set). --quarantine 0.
	QuarantineNone
	// QuarantineFixed: Options.Quarantine as given, Unsafe set whatever
	// its value (it may be below the safe one). --quarantine D.
	QuarantineFixed
)

// Options configure one simulated run. DefaultOptions gives the values of
// the `tenure sim` defaults; every field is used as given (no zero means
// default), so tests can state exactly what they run.
type Options struct {
	// Seed seeds the run's only PRNG. The same Seed and Options give a
	// byte-identical trace.
	Seed uint64
	// Voters is the number of acceptor nodes (n1..nV); Clients the number of
	// extra non-voter nodes (c1..cC). Every node runs a client per lease.
	Voters, Clients int
	// Leases is the number of lease names (L1..Ln).
	Leases int
	// Slots is how many clients each node runs. Zero: one per lease name,
	// so every node wants every lease (the default). N > 0: N clients per
	// node, each drawing a lease name at random for each tenure, one no
	// other client of its node has (a pool of tasks: a thousand agents over
	// ten thousand names). The client calls of manual.go (Acquire, Release,
	// Cancel, Write) name lease l's client, so they need Slots zero.
	Slots int
	// Duration is the simulated time during which faults happen. A quiet
	// phase follows (see LivenessBound) in which the liveness check runs.
	Duration time.Duration
	// TTL is the lease TTL every client asks for; the protocol's MaxTTL is
	// set to it, so the quarantine is as short as safety allows.
	TTL time.Duration
	// Drift is the real bound on the clocks' rate error: each node's clock
	// runs at a rate in [1-Drift, 1+Drift] that wanders over time.
	Drift float64
	// AssumedDrift is the ε the protocol is configured with (MaxDrift). Set
	// it below Drift to break R8.
	AssumedDrift float64
	// Margin is the protocol's operation margin m (Config.Margin).
	Margin time.Duration
	// QuarantineMode says which quarantine restarted nodes sit out: the
	// safe one the protocol computes, none, or Quarantine.
	QuarantineMode QuarantineMode
	// Quarantine is the quarantine of QuarantineFixed (positive); zero in
	// the other modes.
	Quarantine time.Duration
	// NoEra restarts crashed nodes with StartCrashed{Era: 0}: the durable
	// era floor is lost (R12 broken).
	NoEra bool
	// Faults are the fault rates.
	Faults Faults
	// Weaken switches on weakened protocol rules (only in mutants builds).
	Weaken protocol.Weakenings
	// TwoPhaseAcquire switches the one-round acquire off: every attempt
	// starts with a Prepare (protocol.Config.TwoPhaseAcquire).
	TwoPhaseAcquire bool
	// Workload runs the random clients and the random fault generators. The
	// rapid tests switch it off and drive everything by hand.
	Workload bool
	// Think and Hold are the means of a client's idle time between tenures
	// and of the time it holds a lease; WriteEvery the mean time between
	// its fenced writes.
	Think, Hold, WriteEvery time.Duration
	// TryShare is the fraction of acquires made with Wait=false.
	TryShare float64
	// Regrab is the probability that a client acquires the same lease again
	// right after releasing it (no think time).
	Regrab float64
	// RecordTimeline keeps holder intervals and faults for Timeline.
	RecordTimeline bool
	// SkipTokenOrder switches checker (b) off. With NoEra tokens regress by
	// design; a test that wants to see whether something else breaks too
	// (two holders) sets it.
	SkipTokenOrder bool
	// Operator switches on the operator's mistakes (operator.go).
	Operator Operator
	// Edge adds agents and their HTTP clients (edge.go).
	Edge Edge
	// Reconfig adds voter changes to the faults (reconfig.go).
	Reconfig Reconfig
	// SimWeaken switches on weakened rules of the edge model (only in
	// mutants builds).
	SimWeaken SimWeakenings
	// cell is set only for one cell of RunCells (cells.go).
	cell *cellSetup
}

// DefaultOptions are the defaults of `tenure sim`: 5 voters, 2 client
// nodes, 3 leases, 10 minutes, TTL 2 s, drift 1e-4, mild faults, no
// operator mistakes and no agents.
func DefaultOptions() Options {
	return Options{
		Seed:           1,
		Voters:         5,
		Clients:        2,
		Leases:         3,
		Duration:       10 * time.Minute,
		TTL:            2 * time.Second,
		Drift:          1e-4,
		AssumedDrift:   1e-4,
		Margin:         time.Millisecond,
		QuarantineMode: QuarantineSafe,
		Faults:         Preset(FaultsMild),
		Workload:       true,
		Think:          2 * time.Second,
		Hold:           4 * time.Second,
		WriteEvery:     250 * time.Millisecond,
		TryShare:       0.2,
		Regrab:         0.1,
		// No agents: the edge model is off until Agents and Clients are set.
		Edge: Edge{DelayMin: time.Millisecond, DelayMax: 20 * time.Millisecond, HoldShare: 0.3, Stops: 2},
	}
}

// The size limits of one run. MaxHolders bounds the nodes and edge
// clients together: the network keeps a cut count per directed pair of
// nodes (4 bytes × nodes²) and a partition lists the pairs it cuts.
// MaxLeases is what a trace record's lease field holds. MaxClients bounds
// the clients of the one-client-per-lease shape (Slots zero), which every
// node keeps for every lease.
const (
	// MaxHolders bounds Voters + Clients + Edge.Clients.
	MaxHolders = 2048
	// MaxLeases bounds Leases.
	MaxLeases = 32767
	// MaxClients bounds (Voters + Clients) × Leases when Slots is zero.
	MaxClients = 2_000_000
)

// Validate refuses options that make no sense, naming the field.
func (o *Options) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrOptions}, a...)...) }
	switch {
	case o.Voters < 1 || o.Voters > 64:
		return bad("nodes %d: want 1..64 voters", o.Voters)
	case o.Clients < 0 || o.Voters+o.Clients > MaxHolders:
		return bad("clients %d: want 0..%d", o.Clients, MaxHolders-o.Voters)
	case o.Leases < 1 || o.Leases > MaxLeases:
		return bad("leases %d: want 1..%d", o.Leases, MaxLeases)
	case o.Slots < 0 || o.Slots > o.Leases:
		return bad("slots %d: want 0 (a client per lease on every node) or 1..%d (the leases)", o.Slots, o.Leases)
	case o.Slots == 0 && (o.Voters+o.Clients)*o.Leases > MaxClients:
		return bad("%d nodes × %d leases: at most %d clients with one per lease on every node; set slots for a pool of tasks",
			o.Voters+o.Clients, o.Leases, MaxClients)
	case o.Duration < 0:
		return bad("duration %v is negative", o.Duration)
	case o.TTL < 50*time.Millisecond || o.TTL > time.Hour:
		return bad("ttl %v: want 50ms..1h", o.TTL)
	case !(o.Drift >= 0 && o.Drift < 0.1):
		return bad("drift %v: want [0, 0.1)", o.Drift)
	case !(o.AssumedDrift >= 0 && o.AssumedDrift < 0.1):
		return bad("assumed-drift %v: want [0, 0.1)", o.AssumedDrift)
	case o.Margin < 0:
		return bad("margin %v is negative", o.Margin)
	case !prob(o.Faults.Loss) || !prob(o.Faults.Dup) || !prob(o.Faults.Tail) || !prob(o.Faults.CleanShare):
		return bad("loss, dup, tail and clean share must be probabilities in [0, 1]")
	case o.Faults.Loss >= 1:
		return bad("loss %v: nothing would arrive", o.Faults.Loss)
	case o.Faults.DelayMin < 0 || o.Faults.DelayMax < o.Faults.DelayMin:
		return bad("delay %v-%v: want 0 <= min <= max", o.Faults.DelayMin, o.Faults.DelayMax)
	case o.Faults.Partitions < 0 || o.Faults.Crashes < 0 || o.Faults.Pauses < 0:
		return bad("partitions, crashes and pauses must not be negative")
	case o.Think <= 0 || o.Hold <= 0 || o.WriteEvery <= 0:
		return bad("think, hold and write-every must be positive")
	case !prob(o.TryShare) || !prob(o.Regrab):
		return bad("try share and regrab must be probabilities")
	case o.QuarantineMode < QuarantineSafe || o.QuarantineMode > QuarantineFixed:
		return bad("quarantine mode %d unknown", o.QuarantineMode)
	case o.QuarantineMode == QuarantineFixed && o.Quarantine <= 0:
		return bad("quarantine %v: want a positive duration", o.Quarantine)
	case o.QuarantineMode != QuarantineFixed && o.Quarantine != 0:
		return bad("quarantine %v: set only with QuarantineFixed", o.Quarantine)
	}
	if _, err := o.protocolConfig("n1", []string{"n1"}); err != nil {
		return err
	}
	if err := o.Operator.validate(o); err != nil {
		return err
	}
	if err := o.Reconfig.validate(o); err != nil {
		return err
	}
	return o.Edge.validate(o)
}

func prob(p float64) bool { return p >= 0 && p <= 1 && !math.IsNaN(p) }

// protocolConfig is the protocol configuration every node runs with
// (unless the operator lowered MaxTTL: protocolConfigTTL).
func (o *Options) protocolConfig(self string, voters []string) (protocol.Config, error) {
	return o.protocolConfigTTL(self, voters, o.TTL)
}

// protocolConfigTTL is the configuration with MaxTTL and DefaultTTL ttl.
func (o *Options) protocolConfigTTL(self string, voters []string, ttl time.Duration) (protocol.Config, error) {
	eps := o.AssumedDrift
	if eps == 0 {
		// Config treats zero as "the default"; the smallest positive float
		// is ε = 0 for every practical purpose.
		eps = math.SmallestNonzeroFloat64
	}
	minTTL := min(protocol.DefaultMinTTL, ttl)
	cfg := protocol.Config{
		Self:       self,
		Voters:     voters,
		MaxDrift:   eps,
		DefaultTTL: ttl,
		MinTTL:     minTTL,
		MaxTTL:     ttl,
		Margin:     o.Margin,
		Weaken:     o.Weaken,
		Cluster:    o.cellCluster(),

		TwoPhaseAcquire: o.TwoPhaseAcquire,
	}
	switch o.QuarantineMode {
	case QuarantineNone:
		cfg.Quarantine, cfg.Unsafe = 1, true // 1 ns: no quarantine at all
	case QuarantineFixed:
		cfg.Quarantine, cfg.Unsafe = o.Quarantine, true
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%w: protocol config: %w", ErrOptions, err)
	}
	return cfg, nil
}

// LivenessBound is how long, once faults have stopped, a lease that some
// client waits for may stay without a holder (checker d). Derivation (all
// local durations turned into true time by dividing by 1-drift):
//
//   - restarted voters sit out the quarantine Q;
//   - leases accepted before the faults stopped, by nodes that no longer
//     want them (crashed, abandoned, or attempts whose Release was lost),
//     block for at most T more; a waiter that was told "held, Remaining r"
//     retries after r plus a backoff, so a second T covers its wait;
//   - then the waiters contend: each lost round costs at most one backoff
//     (≤ BackoffMax) plus a round (two exchanges of at most DelayMax each,
//     plus a RetryInterval for a lost answer); we allow 20 such rounds,
//     which random backoff makes overwhelmingly likely to suffice.
//
// B = (Q + 2T)/(1-drift) + 20·(BackoffMax + RetryInterval + 4·DelayMax).
func (o *Options) LivenessBound() time.Duration {
	cfg, err := o.protocolConfig("n1", []string{"n1"})
	if err != nil {
		return 0
	}
	q := cfg.Quarantine
	slow := 1 - o.Drift
	base := time.Duration(float64(q+2*o.TTL) / slow)
	round := cfg.BackoffMax + cfg.RetryInterval + 4*o.Faults.DelayMax
	return base + 20*round
}

// quietLength is how long the fault-free phase at the end of a run lasts:
// the liveness bound plus a TTL, so every vacancy that starts at the
// beginning of the phase is judged inside it.
func (o *Options) quietLength() time.Duration { return o.LivenessBound() + o.TTL }

package benchutil

import "time"

// The JSON both sides of the comparison write (tenure bench --json and
// etcdbench run --json) and bench/benchreport reads: one shape, so that
// the report reads both the same way.

// Modes of a curve point: how the workers reach the system.
const (
	// ModeNode: tenure's workers share one client node.
	ModeNode = "node"
	// ModeSharedSession: etcd's workers share one concurrency.Session,
	// a Mutex per name (as users write it).
	ModeSharedSession = "shared_session"
	// ModeSessionPerWorker: each etcd worker has a Session of its own.
	ModeSessionPerWorker = "session_per_worker"
)

// Result is one run of either side.
type Result struct {
	// System is "tenure" or "etcd".
	System string `json:"system"`
	// Curve has one point per (mode, workers) measured.
	Curve []CurvePoint `json:"curve"`
	// Failover is nil when the failover phase did not run.
	Failover *Failover `json:"failover,omitempty"`
	// Hold has one point per count of held leases measured.
	Hold []HoldPoint `json:"hold"`
	// SimEventsPerS is the deterministic simulator's speed (tenure only;
	// 0 when it did not run).
	SimEventsPerS float64 `json:"sim_events_per_s,omitempty"`
	// Machine describes where the figures were taken.
	Machine Machine `json:"machine"`
	// Quick is set for a --quick smoke run: its figures mean little.
	Quick bool `json:"quick"`
	// Seed drives the failover kill instants.
	Seed uint64 `json:"seed"`
	// Started is when the run began; ElapsedS its whole wall time.
	Started  time.Time `json:"started"`
	ElapsedS float64   `json:"elapsed_s"`
}

// CurvePoint is one concurrency level: Workers goroutines, each looping
// acquire-then-release on a lease name of its own for a window; every
// acquire's latency is recorded.
type CurvePoint struct {
	Mode    string `json:"mode"`
	Workers int    `json:"workers"`
	// AcquireP50us and AcquireP99us are percentiles of the acquire
	// latency (nearest rank) over every cycle of the window.
	AcquireP50us  float64 `json:"acquire_p50_us"`
	AcquireP99us  float64 `json:"acquire_p99_us"`
	AcquireMeanUs float64 `json:"acquire_mean_us"`
	AcquireMaxUs  float64 `json:"acquire_max_us"`
	ReleaseP50us  float64 `json:"release_p50_us"`
	// ThroughputPerS is completed cycles per second over all workers.
	ThroughputPerS float64 `json:"throughput_per_s"`
	Cycles         int64   `json:"cycles"`
	Errors         int64   `json:"errors"`
	WindowS        float64 `json:"window_s"`
}

// Failover is the failover phase: a holder process is killed with
// SIGKILL while a waiter is blocked acquiring its lease; each run is the
// time from the kill to the waiter's grant.
type Failover struct {
	TTLMs float64 `json:"ttl_ms"`
	// MaxDrift is the ε of the bound TTL·(1+2ε)+100ms (tenure's; 0 for
	// etcd, which has no such bound).
	MaxDrift float64   `json:"max_drift"`
	RunsMs   []float64 `json:"runs_ms"`
	WorstMs  float64   `json:"worst_ms"`
	MedianMs float64   `json:"median_ms"`
}

// HoldPoint is one node (etcd: one client) holding Leases leases with a
// TTL of TTLMs, measured over a window of steady renewal.
type HoldPoint struct {
	Leases int     `json:"leases"`
	TTLMs  float64 `json:"ttl_ms"`
	// Added is how many leases this point took beyond the previous
	// point's (each point adds to the leases already held), and AcquireS
	// how long taking them took.
	Added    int     `json:"added"`
	AcquireS float64 `json:"acquire_s"`
	WindowS  float64 `json:"window_s"`
	// CPUPercent is the holder process's CPU time over the window, in
	// percent of one core.
	CPUPercent float64 `json:"cpu_percent"`
	// VoterCPUPercent is each voter's (etcd: each member's) CPU, in
	// percent of one core.
	VoterCPUPercent float64 `json:"voter_cpu_percent"`
	// BytesPerLease is the holder's heap growth (after GC) per lease.
	BytesPerLease float64 `json:"bytes_per_lease"`
	// PacketsPerSPerVoter and BytesPerSPerVoter are the protocol
	// datagrams the holder sends to each voter (tenure only: etcd renews
	// one session lease over a TCP stream).
	PacketsPerSPerVoter float64 `json:"packets_per_s_per_voter"`
	BytesPerSPerVoter   float64 `json:"bytes_per_s_per_voter"`
	// PacketsInPerS is the datagrams the holder received per second.
	PacketsInPerS float64 `json:"packets_in_per_s"`
	// HolderRSSBytes is the holder process's resident set after the
	// window; VoterRSSBytes the largest voter's (etcd: member's).
	HolderRSSBytes uint64 `json:"holder_rss_bytes"`
	VoterRSSBytes  uint64 `json:"voter_rss_bytes"`
	// HeldAtEnd counts the leases still held after the window.
	HeldAtEnd int `json:"held_at_end"`
	// Dropped counts datagrams the holder dropped (its queue was full).
	Dropped uint64 `json:"dropped"`
}

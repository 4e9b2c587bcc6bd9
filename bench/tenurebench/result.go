package tenurebench

import (
	"github.com/tenure-dev/tenure/bench/benchutil"
)

// Result is one run's figures. The first seven fields are the keys shared
// with the etcd comparison (bench/etcd); the rest explain them.
type Result struct {
	// System is "tenure" (the etcd side writes "etcd").
	System string `json:"system"`

	// AcquireP50us and AcquireP99us are percentiles of the acquire latency
	// of sequential acquire-then-release cycles, in microseconds.
	AcquireP50us float64 `json:"acquire_p50_us"`
	AcquireP99us float64 `json:"acquire_p99_us"`
	// ThroughputPerS is completed acquire-then-release cycles per second
	// over all workers, each on its own lease name.
	ThroughputPerS float64 `json:"throughput_per_s"`
	// FailoverMs is the worst time, over the runs, from the SIGKILL of the
	// holder process to the waiter's grant, in milliseconds.
	FailoverMs float64 `json:"failover_ms"`
	// RenewPacketsPerS is the protocol datagrams per second the many-lease
	// holder sends to each voter (its total divided by the voters).
	RenewPacketsPerS float64 `json:"renew_packets_per_s"`
	// CPUPercent is the many-lease holder's CPU time over the window, in
	// percent of one core.
	CPUPercent float64 `json:"cpu_percent"`
	// BytesPerLease is the holder's heap growth (after GC) per held lease.
	BytesPerLease float64 `json:"bytes_per_lease"`

	// Details of the acquire figure.
	AcquireCount  int     `json:"acquire_count"`
	AcquireMeanUs float64 `json:"acquire_mean_us"`
	AcquireMaxUs  float64 `json:"acquire_max_us"`
	ReleaseP50us  float64 `json:"release_p50_us"`
	// AcquireSlow counts acquires that took over 100ms: a wait for an
	// expiry rather than a round trip.
	AcquireSlow int `json:"acquire_over_100ms"`

	// Details of the throughput figure.
	ThroughputWorkers int     `json:"throughput_workers"`
	ThroughputWindowS float64 `json:"throughput_window_s"`
	ThroughputCycles  int64   `json:"throughput_cycles"`
	ThroughputErrors  int64   `json:"throughput_errors"`

	// Details of the failover figure: the TTL, and every run.
	FailoverTTLMs    float64   `json:"failover_ttl_ms"`
	FailoverMedianMs float64   `json:"failover_median_ms"`
	FailoverRunsMs   []float64 `json:"failover_runs_ms"`
	// FailoverBoundMs is TTL·(1+2ε)+100ms with ε = 1e-3: the target.
	FailoverBoundMs float64 `json:"failover_bound_ms"`

	// Details of the many-lease figures.
	HeldLeases        int     `json:"held_leases"`
	HeldTTLMs         float64 `json:"held_ttl_ms"`
	HoldAcquireS      float64 `json:"hold_acquire_s"`
	HoldWindowS       float64 `json:"hold_window_s"`
	HeldAtEnd         int     `json:"held_at_end"`
	RenewBytesPerS    float64 `json:"renew_bytes_per_s"`
	RenewPacketsInPS  float64 `json:"renew_packets_in_per_s"`
	VoterCPUPercent   float64 `json:"voter_cpu_percent"`
	DroppedDatagrams  uint64  `json:"dropped_datagrams"`
	HeapBytesPerLease float64 `json:"heap_bytes_per_lease"` // same as bytes_per_lease

	// SimEventsPerS is the deterministic simulator's speed (package sim),
	// 0 when it was not run.
	SimEventsPerS float64 `json:"sim_events_per_s"`

	// Machine describes where the figures were taken.
	Machine Machine `json:"machine"`
	// Quick is set for a --quick smoke run: its figures mean little.
	Quick bool `json:"quick"`
	// Seed drives the failover kill phases.
	Seed uint64 `json:"seed"`
	// ElapsedS is the whole run's wall time.
	ElapsedS float64 `json:"elapsed_s"`
}

// Machine describes the host of a run.
type Machine = benchutil.Machine

var (
	machineInfo = benchutil.MachineInfo
	loadAvg     = benchutil.LoadAvg
	percentile  = benchutil.Percentile
	mean        = benchutil.Mean
	median      = benchutil.Median
	us          = benchutil.US
	ms          = benchutil.MS
	selfCPU     = benchutil.SelfCPU
	pidCPU      = benchutil.PIDCPU
	summarize   = benchutil.Summarize
)

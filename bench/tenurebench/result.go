package tenurebench

import (
	"github.com/tenure-dev/tenure/bench/benchutil"
)

// Result is one run's figures, in the JSON shape both sides of the etcd
// comparison write (benchutil.Result): the curve of acquire latency and
// throughput by concurrency, the failover runs, the held-lease points and
// the simulator's speed.
type Result = benchutil.Result

// Machine describes the host of a run.
type Machine = benchutil.Machine

var (
	machineInfo = benchutil.MachineInfo
	loadAvg     = benchutil.LoadAvg
	percentile  = benchutil.Percentile
	median      = benchutil.Median
	us          = benchutil.US
	ms          = benchutil.MS
	selfCPU     = benchutil.SelfCPU
	pidCPU      = benchutil.PIDCPU
)

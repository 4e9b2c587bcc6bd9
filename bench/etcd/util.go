package main

// The helpers both sides of the comparison must compute the same way live
// in bench/benchutil (standard library only): this module imports it from
// the tenure module, through the replace directive in go.mod, and the
// tenure module never depends on etcd.

import "github.com/tenure-dev/tenure/bench/benchutil"

// machine matches tenurebench.Machine's JSON.
type machine = benchutil.Machine

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

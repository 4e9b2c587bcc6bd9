// Package sim is a deterministic discrete-event simulator of a tenure
// cluster. It runs the real protocol machines (package protocol) and the
// real wire codec under a simulated network and simulated clocks, and checks
// the lease invariants on every event.
package sim

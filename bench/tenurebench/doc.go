// Package tenurebench measures a real tenure cluster on loopback: three
// voter agents as separate processes, a non-voter node embedded in the
// measuring process as the client, and a second client process for the
// failover figure. It is the engine of `tenure bench`; bench/compare.sh runs
// it beside the same workloads against etcd (module bench/etcd) and
// bench/benchreport judges the targets.
//
// # Figures
//
// A run's Result is benchutil.Result, the JSON shape both sides write:
//
//   - curve: at each concurrency of Workload.Workers (1, 8, 32, 128 by
//     default), that many workers loop acquire-then-release for
//     Workload.Duration, each on a lease name of its own, all through the
//     one client node; the acquire latency's p50 and p99 over every cycle,
//     and completed cycles per second.
//   - failover: a holder process (a node of its own) holds a lease with a
//     short TTL, a waiter in this process is blocked in Acquire, the holder
//     is killed with SIGKILL; the time from the kill to the waiter's grant,
//     for every run, and the worst.
//   - hold: a fresh node in this process takes Workload.Leases leases
//     (10⁴, then up to 10⁵ in all, TTL 10s; benchutil.HoldInFlight acquires at a
//     time), and at each count, over a window of steady renewal: protocol
//     datagrams it sends per second to each voter, the process's CPU time
//     in percent of one core, the heap growth (after GC) per held lease,
//     the voters' CPU, and the resident sets.
//   - sim: the deterministic simulator's events per second.
//
// # Method
//
// Nothing here asserts on time: the package reports figures, and
// bench/benchreport compares them with the targets. Randomness (the kill
// phase of each failover run) comes from Config.Seed. Children get the
// environment without TENURE_* variables, so that a user's agent settings
// cannot leak into the measured cluster, and die with the measuring
// process (Linux parent-death signal).
package tenurebench

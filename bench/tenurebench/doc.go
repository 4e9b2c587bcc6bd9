// Package tenurebench measures a real tenure cluster on loopback: three
// voter agents as separate processes, a non-voter node embedded in the
// measuring process as the client, and a second client process for the
// failover figure. It is the engine of `tenure bench`; bench/compare.sh runs
// it beside the same workloads against etcd (module bench/etcd).
//
// # Figures
//
// The JSON keys of Result are shared with the etcd side where they apply:
//
//   - acquire_p50_us, acquire_p99_us: sequential acquire-then-release of
//     one lease name; the figure is the acquire latency.
//   - throughput_per_s: concurrent workers, each looping acquire-then-release
//     on its own lease name; completed cycles per second.
//   - failover_ms: a holder process (a node of its own) holds a lease with a
//     short TTL, a waiter in this process is blocked in Acquire, the holder
//     is killed with SIGKILL; the time from the kill to the waiter's grant.
//     The worst of the runs is reported (the target is a bound).
//   - renew_packets_per_s, cpu_percent, bytes_per_lease: a node holding many
//     leases (10,000 by default, TTL 10s) in this process, measured over a
//     window of steady renewal: protocol datagrams it sends per second to
//     each voter, the process's CPU time as a percentage of one core, and
//     the heap delta (after GC) per held lease.
//
// # Method
//
// Nothing here asserts on time: the package reports figures, and the
// caller compares them with targets. Randomness (the kill phase of each
// failover run) comes from Config.Seed. Children get the environment
// without TENURE_* variables, so that a user's agent settings cannot leak
// into the measured cluster, and die with the measuring process (Linux
// parent-death signal).
package tenurebench

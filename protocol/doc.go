// Package protocol is tenure's lease protocol: a deterministic state machine,
// in the PaxosLease style, for one node and any number of lease names.
//
// # API
//
// New builds a Machine for one node. Inputs each carry the node's local now
// (a Time, nanoseconds on the node's own clock): Step for a message, Tick for
// the passing of time, Acquire, Release, Abandon, Cancel and Query for the
// user. Outputs collect until Ready, which returns an Output to be handled in
// order: persist PersistEra durably, send Messages, deliver Events. Call
// Ready after every input and handle its Output before the next input; call
// Tick whenever the local clock reaches NextWake. Messages travel in
// datagrams built by Encoder and read by Decoder.
//
// The package does no I/O: no goroutines, channels, clocks, timers, global
// randomness, logging, network or files. Randomness (backoff jitter) comes
// from an injected Rand. That is what lets the simulator run whole clusters
// deterministically and every test replay exactly.
//
// # Algorithm
//
// Every node may propose; the configured voters accept (R1). To acquire, a
// proposer picks a ballot (era, round, node) above everything it has seen
// (R3), fixes its attempt deadline d = now + D_P at the moment it sends
// Prepare (R6), and asks every voter to promise. A voter that holds a live
// lease answers with that lease, which blocks the proposer (R4); one with a
// higher promise rejects and says so; otherwise it promises. With a majority
// of open promises, counted by voter identity (R2, R7), and only while
// now < d, the proposer sends Propose; a voter records the lease for T of its
// own clock unless its promise is higher or another owner's lease is live
// (R5). With a majority of accepts while now < d - m, the proposer holds the
// lease until d - m. Containment (R8) makes that end, in real time, before
// any voter's exclusion does.
//
// Renewal is one Propose at the tenure's own ballot with a fresh deadline
// (R11): it keeps the fencing token and costs one round trip. A renewal that
// a majority rejects, or that cannot finish by the deadline, ends the tenure:
// EventLost, no later than the deadline. Release clears a lease only on an
// exact (owner, ballot) match (R10), and only after the holder was told.
//
// # Fencing tokens
//
// The token of a tenure is era<<32 | round of its winning ballot (R12).
// Tokens of successive tenures of one name strictly increase, across any
// restart pattern, because every node keeps a durable era floor: a start
// that may have forgotten promises moves to era E+1 and refuses ballots of
// era <= E, and a node that sees a higher era persists it before answering.
//
// # Guarantees and fault model
//
// With clock rates within [1-ε, 1+ε] of real time (ε = Config.MaxDrift),
// any message delay, loss, duplication and reordering, crashes, restarts and
// pauses of any node: at no real instant do two nodes believe they hold one
// lease, and tokens of successive tenures strictly increase. Without a data
// dir (no durable era) tokens may regress after a majority of voters crash.
// Liveness needs a majority of voters up and connected and message delays
// well below the TTL.
package protocol

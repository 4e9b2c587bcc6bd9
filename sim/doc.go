// Package sim is a deterministic discrete-event simulator of a tenure
// cluster. It runs the real protocol machines and the real wire codec of
// package protocol under a simulated network, simulated clocks and
// simulated process faults, and checks the lease invariants as it goes. It
// never imports node and touches no socket. The event loop and everything
// it calls is single-threaded and never reads the wall clock; only the
// drivers in sweep.go do either: Sweep runs seeds on parallel goroutines,
// and Run, RunToEnd and Sweep time themselves to report speed
// (Result.Wall, Summary.WallSeconds), which no simulated decision and no
// trace sees. TestDeterministicCore checks that no other file starts a
// goroutine or reads the clock.
//
// # 1. Engine
//
// One goroutine, one event heap ordered by (true time, sequence number),
// one seeded PRNG (math/rand/v2 PCG) that every random choice draws from,
// the machines' backoff jitter included. An event is one heap pop that does
// something: a datagram delivered, a machine woken, a client action, a
// fenced write reaching the resource, a fault, a clock-rate change. Each
// event field has one meaning (heap.go lists them per kind). Stale
// entries (a wake-up replaced by a later one, a datagram dropped by a test)
// are popped but not counted. No map is ever iterated where order matters,
// so the same Options give a byte-identical trace; Result.TraceDigest is the
// sha256 of it.
//
// # 2. Clocks
//
// Every node has its own clock: local = offset + ∫ rate dt, rate in
// [1-Drift, 1+Drift], changed at random instants (most of the time to one
// of the two extremes, where containment is tightest). protocol.Time values
// are local readings; a node's next wake-up is scheduled at the true instant
// its clock reaches Machine.NextWake, recomputed when the rate changes, one
// pending wake per node (a generation counter invalidates the others).
//
// # 3. Network and faults
//
// A node's output messages are grouped per peer and encoded with
// protocol.Encoder; each datagram is lost, duplicated and delayed on its own
// (delays skewed to the low end of [DelayMin, DelayMax], with an optional
// tail of very late datagrams) and decoded with protocol.Decoder on
// arrival. Partitions cut directed links, so they can be asymmetric. Nodes
// crash (the machine is dropped, the durable era survives), crash in bursts
// (a rack), shut down cleanly (Snapshot, then StartClean), restart
// (StartCrashed from the durable era, or era 0 with NoEra), and pause (they
// handle nothing, their clock runs on; on waking they handle the queued
// datagrams first, then their late timers). After Duration the faults stop:
// partitions heal, down nodes restart, paused nodes wake, loss stops.
//
// Every random fault generator is one row of faultKinds (faultkinds.go):
// its name, its `tenure sim` flag, its rate in Options, its preset rates
// and the function that injects it. Adding a fault kind is a row there
// and its inject function. A random partition is one of the
// partitionModes (faults.go): a minority split, an isolated node, or a
// node deaf to some others. Options.QuarantineMode picks the quarantine
// restarted nodes sit out: the safe one, none, or a fixed one.
//
// # 4. Workload
//
// Every node runs a client per lease name: it acquires (mostly waiting,
// sometimes TryAcquire), holds for a while sending fenced writes stamped
// with its token, then releases, abandons, or holds on until the lease is
// lost; waiting clients sometimes give up (Cancel). The fenced resource
// keeps the highest token per lease and refuses lower ones. With
// Options.Slots a node runs that many clients instead, each drawing a lease
// name at random for each tenure: a thousand agents over ten thousand task
// names (Options.Validate has the size limits: MaxHolders, MaxLeases,
// MaxClients).
//
// # 4a. The operator and the edge
//
// Options.Operator adds the operator's mistakes of R17-R20: a voter list
// changed half way (a node refuses to start while a live member it reaches
// runs another list, as the node layer does), MaxTTL lowered across
// crashes, client nodes without a data dir restarted within the second,
// voters restarted from stale copies of their data dirs or from empty
// ones, and datagrams of one incarnation reaching the next. Restores and
// wipes stay within what the protocol can repair (assume.go): a voter that
// knows the newer state stays up and connected to every stale voter until
// it has opened. Options.Edge adds tenure agents and HTTP clients that
// hold through them, each client on its own host and clock (agent.go,
// edge.go).
//
// # 5. Checkers
//
//	(a) at every true instant at most one holder (a node, or an HTTP
//	    client by its own deadline) believes it holds a lease;
//	    a belief runs from EventAcquired to EventLost/EventReleased or to
//	    the instant the node's own clock reaches the deadline, whichever is
//	    first (a paused node's belief still ends on its clock). Beliefs only
//	    start (or extend) at Acquired and Renewed events, so checking
//	    overlap there is complete.
//	(b) tokens strictly increase from one tenure of a lease to the next,
//	    in true acquisition order.
//	(c) every write the resource accepts was sent while its writer held
//	    the lease, under the tenure whose token it carries, and the
//	    resource accepts writes in grant order: no write of a tenure after
//	    a write of a later tenure of the lease (fencing.go). Keyed by
//	    tenure, it tells apart two tenures with one token, which the
//	    token rule cannot.
//	(d) once faults stop, no lease that a client waits for stays without a
//	    holder for longer than Options.LivenessBound.
//
// Each checker has a file of its own and its ViolationKind (violation.go):
// (a) check_holders.go, (b) check_tokens.go, (c) fencing.go, (d)
// check_liveness.go; checker.go keeps the beliefs they share. The first
// violation stops the run and carries the last trace lines.
//
// # 6. Driving by hand
//
// With Options.Workload off nothing happens on its own but clock drift; the
// methods in manual.go (Acquire, Release, Crash, Restart, Pause, Split,
// Cut, DropInFlight, DuplicateInFlight, Advance, StopFaults) are the
// actions of the rapid state-machine test.
package sim

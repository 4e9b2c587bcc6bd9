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
// datagrams built by Encoder and read by Decoder; Deliver hands one
// datagram's messages to the machine (Step is one message of a datagram
// already admitted). Reconfigure changes the voters online and Membership
// reads the adopted configuration; PersistConfig, like PersistEra, is made
// durable before the Output's messages leave.
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
// One round trip is enough when nobody is in the way: by default a
// request's first attempt skips the Prepare and sends Propose marked
// OneRound, its deadline fixed when it leaves. A voter accepts it only if
// it would have promised the ballot (strictly above its promise, no lease
// in the way, the sender's own included) and records it at once; a
// majority of such accepts makes the holder as above. A blocked or timed
// out one-round attempt releases what it got and the request goes on in
// two phases (oneround.go; Config.TwoPhaseAcquire turns it off).
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
// # Reading order
//
// The rules R1-R25 are written out in RULES.md, next to this file: each
// with the code that keeps it and the tests that check it. Code and tests
// cite them as "R7: ...". Read top to bottom:
//
//   - RULES.md: the safety contract, rule by rule, with its code and tests.
//   - ballot.go: Time, Ballot and tokens; choosing the next ballot and the
//     era floor (R3, R12).
//   - config.go, bounds.go, errors.go: the settings, their defaults and
//     checks (R8, R9, R19); the errors callers match. What a lease name
//     may be is internal/leasename, which package fence shares.
//   - identity.go, messages.go, codec.go: what every datagram carries (R17),
//     the messages, and their wire format.
//   - machine.go: the Machine, its inputs (Step, Tick) and outputs (Ready);
//     events.go, counters.go: what it reports.
//   - state.go: how a start sets the era and the quarantine (R9, R12), and
//     the state kept across a clean restart.
//   - The acceptor: slot.go (its record for one name, the handoff grace,
//     garbage collection), acceptor.go (the shared gate, then each decision
//     as a pure function, decidePrepare for R4 and decidePropose for R5,
//     recorded and answered by onPrepare, onPropose, onRelease, onQuery);
//     notice.go (waiting by notice: the waiter queue, the Vacant to the
//     next waiter at a release or an expiry, its chain; hints, R14).
//   - The proposer: claim.go (its state for one name and its stages:
//     waiting, preparing, proposing, held, renewing; the timer), requests.go
//     (Acquire, Cancel, Release, Abandon, Holding), attempt.go (one round
//     and its answers: R2, R6, R7), oneround.go (the acquire without a
//     Prepare: the voter's decideOneRound and when the proposer uses it),
//     renewal.go (one-phase renewal, R11, and
//     resends), release.go (R10), query.go (R14; listing.go lists the
//     leases this node's acceptor knows).
//   - hello.go: proving a start is the newest incarnation (R18, R20).
//   - Changing the voters (R21-R25): config_epoch.go (a configuration and
//     its durable record), reconfig_acceptor.go (adoption, Deliver across
//     epochs, the Paxos slot choosing the next configuration),
//     reconfig.go (Reconfigure: joint configuration, the wait W, min era),
//     reconfig_msgs.go (its messages); quorum/joint.go decides joint votes.
//   - invariants.go: the local invariants, checked between inputs.
//   - weaken.go: the deliberately broken rules of the mutants build.
//
// Tests: each rule's scenario-shaped checks are golden scripts in
// testdata/rules, one file per check named after its rule
// (r5_no_replace_live_lease.txt), each opening with the rule in one
// sentence; testdata/scripts holds longer scenarios. script_test.go runs
// both (TestRules, TestScripts; -rewrite regenerates the expected output)
// and script_cmd_*_test.go hold its commands, one handler each. What is
// not a scenario stays in Go, named after its rule (TestR6...): tables and
// loops in rules_test.go (R1-R12), rules_edge_test.go (R17, R19) and
// r13_test.go (R13). R15 and R16 are the node's and the agent's, tested
// there. mutants_test.go and script_mutants_test.go show that each rule's
// check fails when its weakening is on; property_test.go and
// liveness_test.go run random clusters; acceptor_test.go checks the
// acceptor's pure decisions case by case; invariants_test.go breaks each
// local invariant by hand. oneround_test.go checks the one-round acquire
// (the scripts and rule tests run two phases), reason_test.go the Reason
// of answers, oneround_mutants_test.go its weakenings, notice_test.go the
// notices (one per voter per release, passes, expiry, rare polls). harness_test.go is
// the small cluster they share; it checks the local invariants after
// every input.
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

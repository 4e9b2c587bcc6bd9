// Package check holds the chaos test's history and the checks run on it
// after a run: linearizability of the fenced register (porcupine), no
// acknowledged stale write, strictly increasing tokens across tenures, no
// two clients' tenures of one lease overlapping, and no acknowledged write
// lost.
//
// # 1. The history
//
// Every client operation is one Op with Start and End read from one
// monotonic clock (the test process's time.Now, as nanoseconds since the
// run's origin): acquire, keepalive and release through an agent, read and
// write at the register. An operation whose outcome the client cannot know
// (a timeout, a reset connection, a 503 from the register) is Unknown: a
// write then may or may not have taken effect, and the model allows both.
// The final reads, made after the clients stopped and the register was
// killed and restarted, carry Final.
//
// # 2. The register model
//
// Per key (the register key is also the lease name), the state is the value,
// the token of the write that stored it, and the highest token accepted.
// A read must return the value and its token. A write with a token not
// lower than the highest must be accepted (Ok) and becomes the value; a
// write with a lower token must be refused as stale; an Unknown write either
// did nothing, raised only the token floor (the register admits the token
// before it stores the value), or did both. Rejections are part of the
// output, so a register that admits a stale token, or refuses a fresh one,
// makes the history non-linearizable.
//
// # 3. Tenures
//
// A client's tenure starts when the acquire answer arrives and ends at the
// earlier of the moment it sends its release and its own deadline: the time
// it sent the acquire (or the last successful keepalive, sent before that
// deadline) plus the deadline_ms the agent answered. A successful keepalive
// of the same tenure sent after that deadline (the grant arrived late, after
// a long wait) starts a new stretch of the tenure when its answer arrives.
// These are the client's own accounts; the checks compare them across
// clients in real time. A tenure is identified by its grant: the client and
// the acquire it comes from. Tokens must rise from one grant to the next
// (R12); only the stretches of one grant share a token. An agent never
// answers a new acquire with a tenure it already holds, so an equal token
// from another acquire is a reused token, reported even through the same
// agent: the fence admits equal tokens, and a zombie write of the earlier
// tenure would overwrite the later one's without any other check noticing.
//
// # 4. Testing map
//
// check_test.go feeds synthetic histories: a good one passes every check,
// and each kind of violation (a stale write acknowledged, overlapping
// tenures, a token going down, a token reused by a new acquire, a lost
// write, a read of a value never written) is reported by the check meant
// for it.
package check

// Package node embeds a tenure node in a Go program: fenced leases, agreed
// peer to peer by a fixed set of voter nodes, with no external lock
// service.
//
// # API
//
// New starts a node (gossip by hashicorp/memberlist, one UDP/TCP port).
// Acquire waits for a lease name; TryAcquire makes one round and fails with
// ErrHeld if another holds it. The Lease handle carries the fencing token,
// the local deadline, and a Done channel and Context that end with the
// tenure. Renewal is automatic. Release hands the lease on within a few
// round trips; Abandon lets it expire; Holder asks the voters who holds a
// lease (a hint). Leave stops cleanly; Shutdown stops as a crash would.
//
// # Recipes
//
// Campaign blocks until this node leads under a lease name (the Lease is
// the leadership; Release resigns); RunElection wraps it in onElected and
// onDefeated callbacks and campaigns again after each defeat. Leader asks
// the voters who leads; Observe streams each change of holder, from
// gossiped announcements (a leader announces each tenure, renewal and end
// through memberlist's broadcast queue) and from queries of the voters,
// and reports a vacancy when a known tenure runs out unrenewed. Leader and
// Observe are hints (R14). AcquireSlot is a counting semaphore: one of n
// slots, each a lease of its own with its own tokens. WithLockDelay keeps
// a name blocked for a while after a tenure ends by loss rather than by
// release, for requests the lost holder may still have in flight.
//
// # Threading
//
// One owner goroutine runs the protocol machine (package protocol), which
// makes every protocol decision. API calls, received datagrams and a
// single wake-up timer reach it through channels. After each input it
// writes a raised era floor to disk (fsync) before any message leaves,
// then sends, then delivers events. memberlist's receive path only copies
// each datagram into a bounded queue (dropping and counting when it is
// full). Each Lease also arms a timer of its own at its deadline, so a
// tenure that cannot be renewed ends on time even if the owner goroutine
// is not scheduled.
//
// # Guarantees
//
// While the clocks' rates stay within MaxDrift of real time, at most one
// node holds a lease name at any instant by its own account, and tokens of
// successive tenures strictly increase, across restarts too when every
// voter has a DataDir. Holding is the holder's own knowledge (R14): act
// only while the Lease's Context is live and before Deadline, and pass the
// token to the resource you protect so it can refuse a stale holder.
//
// # Durable state
//
// A DataDir holds these files, each small, text except "state", and each
// rewritten atomically (temp file, fsync, rename, fsync of the directory):
//
//   - "LOCK": flocked while a node uses the dir; it holds the process id.
//     A second node on the dir, in this process or another, fails New
//     with ErrDataDirInUse (R18).
//   - "identity": the cluster ID, the node name, a random node ID made at
//     the dir's first start, and the voter list the dir last ran with. A
//     dir of another node or cluster is refused, naming both; so is a
//     voter's dir under another voter list (R17), until the whole cluster
//     was stopped for the change and the node starts with Restored. Once
//     the dir holds a configuration adopted online ("config"), Voters is
//     only the initial list and is not compared: the adopted one rules.
//   - "boot": how many times the dir has started, raised before anything
//     is sent. A voter that would skip the quarantine first announces it
//     to the other voters, which tell a stale copy of the dir (a restored
//     backup, a copied dir) by a count they have already seen (R18).
//   - "era": the era floor (the high half of the fencing tokens), raised
//     before any message that depends on it leaves (R12).
//   - "bounds": the largest MaxTTL the node ever ran with and the largest
//     TTL plus lock delay its acceptor ever accepted; the quarantine after
//     an unclean start covers both, whatever the configuration says now
//     (R19).
//   - "peers": the newest start (boot count and nonce) heard from each
//     other voter, kept across crashes, so that this voter still tells a
//     peer that comes back from a stale copy of its dir (R18).
//   - "state": written by Leave: the voter's promises, accepted leases and
//     the incarnations it heard from its peers. The next start restores it
//     and removes it durably before answering anything, so it needs no
//     quarantine (R9).
//   - "config" (msgpack): the voter configuration adopted by an online
//     change (Reconfigure) and this voter's part in the Paxos slot that
//     chooses the next one (R21, R22); written before the messages that
//     depend on it, only while a change is under way, and read at every
//     start, crashed ones included. Without it the node runs Voters as
//     epoch 0.
//
// Any other start counts as a crash: the node moves to the next era and,
// as a voter, answers nothing for about MaxTTL (R9, R12). So does a start
// on an empty DataDir, which may be a voter's replaced disk, unless
// Config.NewCluster says the whole cluster is new; and a start with
// Config.Restored, the procedure after restoring a dir from a backup.
// Without a DataDir every start is a crash, a voter's era is seeded from
// the wall clock (a non-voter's is 1), and tokens may go backwards after a
// majority of voters restart. Wiping a voter's DataDir is as unsafe as
// losing a Paxos acceptor's disk.
//
// # Identity
//
// Every protocol datagram carries the sender's cluster ID and a
// fingerprint of its voter list; a node drops datagrams of another
// identity (Stats.MismatchedDatagrams, R17). Gossip metadata carries the
// same identity, the voter list when it fits, the node ID and a random
// per-process nonce: a member of another identity is logged at ERROR once,
// naming both lists (Stats.MismatchedMembers, Member.Mismatch), and New
// refuses to run a second process under a name a live member holds
// (ErrDuplicateName); a member that meets such a process logs it at ERROR
// (Stats.DuplicateNames).
//
// # Changing the voters
//
// Reconfigure changes the voters online (R21-R25): held leases keep
// renewing, and a change takes about MaxTTL·(1+ε)/(1−ε) plus a few round
// trips. Voters is the configuration adopted: its epoch (0 until the
// first change) is part of the identity every datagram carries, and a
// datagram of this cluster at another epoch brings the side behind up to
// date. Config.Voters is the list the cluster started with: once the data
// dir holds an adopted configuration, that one rules. A member of the same
// cluster at another epoch is no mismatch; one that started from another
// initial list (InitialVoters) is.
//
// # Transport
//
// Protocol messages for one peer are packed into datagrams of at most 1400
// bytes and sent with memberlist's best-effort UDP path, with compression
// off and a cluster label; SecretKey encrypts everything. Lost, duplicated
// and reordered datagrams are normal: the protocol retries and counts votes
// by voter identity. Malformed datagrams are dropped and counted (Stats).
// Gossip supplies addresses and liveness hints, never quorums (R1).
package node

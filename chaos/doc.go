// Package chaos is tenure's Jepsen-style test: five agents (three voters,
// two non-voters) run as separate processes, each in its own network
// namespace; clients take leases through them and write a fenced register
// with the tokens; a nemesis partitions, drops packets, crashes, pauses and
// restarts on a schedule drawn from a seed; afterwards package chaos/check
// decides whether anything the lease system promises was broken.
//
// # 1. Running it
//
//	go test -tags chaos ./chaos/...                     # the short pass (root; ~2 min)
//	chaos/run.sh --duration 10m [--seed N]              # the long pass
//	make chaos DURATION=10m                             # the same
//	go test -tags chaos ./chaos -run TestChaosDetectsBrokenFence -v
//
// Flags go after -args and only with the single package ./chaos; for the
// whole tree set TENURE_CHAOS_SEED and TENURE_CHAOS_DURATION instead.
// Without root or without `ip netns` the tests skip and say why. Every run
// prints its seed and the command that replays it; the seed fixes the
// nemesis's schedule and the clients' choices (the machine's timing still
// varies). A failing run keeps its directory: history.json,
// linearizability.html (porcupine's visualisation, with tenures and faults
// drawn in), violations.txt and every process's log.
//
// # 2. The pieces
//
//   - Cluster (cluster.go) builds the lab (package chaos/netns), starts the
//     register (the harness's own binary, chaos/cmd/fenced-register, built
//     by the test next to cmd/tenure) in a namespace of its own and the
//     agents in theirs, and controls them: SIGKILL, SIGSTOP/SIGCONT,
//     SIGTERM, restart with or without the data dir.
//   - How an agent is started and spoken to is behind two small interfaces
//     (agents.go): Launcher turns an AgentSpec into a command, LeaseAPI
//     takes, renews and releases leases. The defaults run `tenure agent`
//     and use api.Client.
//   - The nemesis (nemesis.go) runs one fault at a time: partition (random
//     bipartition), one-way partition, packet loss (nft numgen), kill (one
//     or two agents, restarted with their data dir), kill without data dir
//     (restarted memory-only, at most one agent at a time), pause (SIGSTOP
//     for up to 3 TTLs: the GC-pause case), clean restart (SIGTERM), and a
//     crash of the register itself, drawn at random; and three steps on a
//     fixed cadence, so that every pass has them. Every third step is a
//     holder restart (holder.go): a client of the nemesis holds lease "kh"
//     through one agent with at least half a TTL to go, another waits for
//     it through another agent, and the first agent gets SIGTERM and is
//     started again; an agent that frees its clients' leases when it stops
//     (R15) makes an overlap every time. Every sixth step, from the fifth,
//     restarts a voter from a stale copy of its data dir (stale.go: copied
//     after a clean stop or while running, the cluster grants more, the
//     voter is killed and started on the copy) and requires the voter to
//     report tenure_quarantined 1 for a second (R18); a voter that does not
//     is a "quarantine" violation. Every sixth step, from the third,
//     changes the voters online while the clients run and puts them back
//     (reconfig.go, issue 17): alternately a 3 -> 5 -> 3 cycle and the
//     replacement of a voter by a non-voter, each change made through a
//     voter's agent as tenure voters makes it (GET, then PUT with the
//     epoch); TestChaos requires every such step to complete.
//   - The agents' first start (cluster.go) passes --new-cluster (their
//     data dirs are empty and the cluster is new); no restart does, a
//     wiped dir included. The first agent joins nobody and the others join
//     it, so that every first start succeeds.
//   - Clients (client.go) run in the test process, one per key per agent,
//     and loop: acquire, read, write with the token, maybe keep alive and
//     write again, release or abandon. Now and then a client stalls past
//     its own deadline and writes anyway (a zombie): the register's fence
//     must refuse it if a later tenure has written.
//   - Run (run.go) ties it together, cuts the history, kills and restarts
//     the register, reads every key, and checks (package chaos/check).
//
// # 3. Figures
//
// Run returns Figures: faults injected by kind, operations attempted, ok,
// failed and unknown, stale writes rejected, zombie writes, tenures,
// violations, and availability: the share of one-second windows, per key,
// in which at least one write was acknowledged, with and without a fault
// active. Then the scheduled steps: holder restarts (how many found a live
// holder and a waiter at the SIGTERM; TestChaos requires at least one and
// at least half), the failover (when the waiter was granted after the
// holder's own end: negative means both held at once), stale-copy
// restarts (how many were quarantined), and voter changes (how many
// cycles and replacements completed, and how long a change took).
//
// # 4. Network hygiene
//
// Every address is in 10.77.S.0/24 and exists only inside the lab's
// namespaces and on one veth in the root namespace; every rule lives inside
// a lab namespace; every name starts with "tch". Cleanup runs on success and
// on failure (t.Cleanup), and chaos/cleanup.sh removes leftovers by prefix.
package chaos

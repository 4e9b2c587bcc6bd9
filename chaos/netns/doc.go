// Package netns builds the chaos test's network: one Linux network namespace
// per process under test, all on one private Ethernet segment, with
// nftables rules inside each namespace for partitions and packet loss.
//
// # 1. Shape
//
//	root namespace ── veth tch<id>r (10.77.S.1) ──┐
//	                                              │  namespace tch-<id>-hub:
//	namespace tch-<id>-<host> ── eth0 (10.77.S.k) ─┤  bridge br0 joining every veth
//	...                                           ┘
//
// The bridge lives in a namespace of its own, so the root namespace's
// firewall (bridge netfilter, a FORWARD policy of DROP) never sees the
// traffic between hosts; the root namespace, where the test's clients run,
// reaches every host through its one veth. The addresses 10.77.S.0/24 are
// assigned only inside these namespaces and on that veth: nothing is routed
// off the machine. S is chosen per run so two labs do not collide.
//
// # 2. Faults
//
// Each host namespace has an nftables table "tchaos" with an input chain.
// Block drops packets from one host at another (asymmetric if used once),
// Partition blocks every pair across groups, Loss drops a random share of
// the packets arriving from the other hosts (nft numgen random), Heal
// flushes every host's chain. Rules live inside the namespaces, so deleting
// a namespace deletes them: the root namespace's ruleset is never touched.
// tc netem is unavailable on the test machines, so there is no delay.
//
// # 3. Cleanup
//
// Every name starts with "tch": namespaces "tch-<id>-<host>" and the root
// veth "tch<id>r", where <id> is the creating process's pid. Lab.Close
// deletes what the lab made, ending the processes still inside its
// namespaces; Sweep deletes what labs of dead processes left behind (a test
// binary killed by a timeout); chaos/cleanup.sh deletes everything with the
// prefix.
//
// # 4. Testing map
//
// lab_test.go (build tag chaos, needs root): two hosts exchange UDP
// datagrams, a partition stops them, Heal restores them, 100% loss stops
// them, and Close leaves nothing behind.
package netns

package node

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// gossipSettings are the memberlist failure-detector settings the node
// runs with: memberlist's LAN preset with a longer direct-probe timeout
// and a longer suspicion, measured with the scale test (scale_test.go,
// build tag scale; DESIGN §13). With the preset (500 ms, ×4), 200 nodes on
// a starved machine never converged: acks late by a few hundred
// milliseconds made live nodes suspects, and each suspicion ran out into
// a dead declaration before the suspect's refutation reached everyone,
// every false death costing a suspect, dead and alive broadcast to all
// N nodes (33,279 dead declarations against 1,473 refutations in one
// run). With these settings the same 200 nodes converged with 4.
//
// The cost is bounded and nothing on the lease path pays it. A failed
// probe still ends at the probe interval (memberlist waits for indirect
// acks until then), so the longer timeout leaves the time to suspect a
// crashed node unchanged and indirect probes 200 ms, far above a LAN round
// trip. The suspicion lasts SuspicionMult × max(1, log10 N) × 1 s: in a
// cluster under 10 nodes a crashed member is declared dead about 2 s
// later than with the preset (3 nodes, three runs each: 7.8-8.8 s instead
// of 5.8-6.8 s). Failover never waits for it (a lease ends by its TTL at
// the voters, R8); a replacement under the same name at a new address
// does (deadNodeReclaim counts from the dead declaration).
type gossipSettings struct {
	ProbeInterval, ProbeTimeout time.Duration
	SuspicionMult               int
	RetransmitMult              int
}

// gossipOverride, if set (only by tests, before any node starts),
// replaces the settings every node starts with.
var gossipOverride *gossipSettings

// currentGossipSettings is what startMemberlist applies.
func currentGossipSettings() gossipSettings {
	if gossipOverride != nil {
		return *gossipOverride
	}
	d := memberlist.DefaultLANConfig()
	return gossipSettings{
		ProbeInterval:  d.ProbeInterval,        // 1 s
		ProbeTimeout:   800 * time.Millisecond, // preset 500 ms
		SuspicionMult:  6,                      // preset 4
		RetransmitMult: d.RetransmitMult,       // 4
	}
}

// apply writes the settings into mc.
func (g gossipSettings) apply(mc *memberlist.Config) {
	mc.ProbeInterval, mc.ProbeTimeout = g.ProbeInterval, g.ProbeTimeout
	mc.SuspicionMult, mc.RetransmitMult = g.SuspicionMult, g.RetransmitMult
}

func (g gossipSettings) String() string {
	return fmt.Sprintf("probe every %v, timeout %v, suspicion x%d, retransmit x%d", g.ProbeInterval, g.ProbeTimeout, g.SuspicionMult, g.RetransmitMult)
}

package node

import (
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// TestGossipSettings checks the reasoning behind the node's memberlist
// settings (memberlist_config.go): the direct probe's timeout leaves time
// for indirect probes inside the probe interval (a failed probe still
// ends at the interval, so crash detection is not delayed by it), the
// suspicion is longer than the preset's (the scale test's false deaths),
// and apply writes every one of them into a memberlist config.
func TestGossipSettings(t *testing.T) {
	g := currentGossipSettings()
	if g.ProbeTimeout >= g.ProbeInterval || g.ProbeInterval-g.ProbeTimeout < 200*time.Millisecond {
		t.Errorf("probe timeout %v leaves %v of the %v interval for indirect probes; want at least 200ms",
			g.ProbeTimeout, g.ProbeInterval-g.ProbeTimeout, g.ProbeInterval)
	}
	d := memberlist.DefaultLANConfig()
	if g.ProbeInterval != d.ProbeInterval {
		t.Errorf("probe interval %v; the crash-detection figures assume memberlist's %v", g.ProbeInterval, d.ProbeInterval)
	}
	if g.SuspicionMult <= d.SuspicionMult || g.ProbeTimeout <= d.ProbeTimeout {
		t.Errorf("%v: want a longer suspicion and probe timeout than the LAN preset's (x%d, %v)", g, d.SuspicionMult, d.ProbeTimeout)
	}

	mc := memberlist.DefaultLANConfig()
	g.apply(mc)
	if mc.ProbeTimeout != g.ProbeTimeout || mc.SuspicionMult != g.SuspicionMult || mc.ProbeInterval != g.ProbeInterval || mc.RetransmitMult != g.RetransmitMult {
		t.Errorf("apply wrote %v/%v/x%d/x%d; want %v", mc.ProbeInterval, mc.ProbeTimeout, mc.SuspicionMult, mc.RetransmitMult, g)
	}
}

package node

import (
	"testing"
	"time"
)

// An observer of a Campaign leader learns of each renewal by gossip and
// does not poll the voters while those announcements keep arriving: over
// twelve renewal announcements (several seconds at TTL 2s) it sends at
// most two polls' worth of queries (an announcement that gossip delivers
// late on a loaded machine lets one poll through: DESIGN §12 says lost or
// late announcements are caught within a poll or two), where a poll every
// second sent one query to each voter per second, 15 datagrams over the
// same announcements. The count is of datagrams, not of time.
func TestObserveQuietWhileAnnounced(t *testing.T) {
	c := newCluster(t, []string{"a", "b", "c"}, []string{"x", "o"}, nil)
	x, o := c.nodes["x"], c.nodes["o"]
	obs := o.Observe(ctx(t, 60*time.Second), "lead")
	lx, err := x.Campaign(ctx(t, 20*time.Second), "lead", nil, WithTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for h := next(t, obs); h.Node != "x"; h = next(t, obs) {
	}
	sent, heard := o.Stats().PacketsSent, o.ann.received.Load()
	waitUntil(t, "twelve announcements of x's renewals", func() bool { return o.ann.received.Load() >= heard+12 })
	queries := o.Stats().PacketsSent - sent
	if h, err := o.Holder(ctx(t, 10*time.Second), "lead"); err != nil || h.Token != lx.Token() {
		t.Fatalf("x no longer leads: %+v, %v", h, err)
	}
	t.Logf("%d datagrams sent by the observer", queries)
	if queries > 6 {
		t.Fatalf("o sent %d datagrams while it heard 12 renewals announced; want at most 6 (two polls of 3 voters; polling every second sent 15)", queries)
	}
}

package node

import (
	"testing"

	"github.com/tenure-dev/tenure/protocol"
)

// The copy of a Release in front of a later Prepare for the same name goes
// only to the voters the Release itself went to. The protocol sends a
// failed one-round attempt's Release only to the voters that recorded it:
// at the others the same ballot may be a previous incarnation's live
// tenure (a node without a data dir, restarted), which a copy would clear.
// Found on real processes: a Release meant for the one voter that accepted
// late was copied to all four, and the restarted node was granted the name
// inside the previous incarnation's deadline.
func TestPiggybackOnlyWhereReleased(t *testing.T) {
	ob := newOutbox()
	b := protocol.Ballot{Era: 1, Round: 1, Node: "x"}
	rel := &protocol.Release{Name: "job", Ballot: b}
	if r := ob.piggyback(10, "d", rel); r != nil {
		t.Fatalf("a Release got a copy in front: %+v", r)
	}
	prep := &protocol.Prepare{Name: "job", Ballot: protocol.Ballot{Era: 1, Round: 3, Node: "x"}, Attempt: 7}
	for _, to := range []string{"a", "b", "c"} {
		if r := ob.piggyback(20, to, prep); r != nil {
			t.Errorf("Prepare to %s carries a copy of the Release that went only to d: %+v", to, r)
		}
	}
	if r := ob.piggyback(20, "d", prep); r != rel {
		t.Errorf("Prepare to d: copy %+v, want the Release d was sent", r)
	}
	if r := ob.piggyback(20, "d", &protocol.Prepare{Name: "other", Ballot: prep.Ballot}); r != nil {
		t.Errorf("Prepare for another name carries %+v", r)
	}
	late := protocol.Time(10) + protocol.Time(releaseWindow)
	if r := ob.piggyback(late, "d", prep); r != nil {
		t.Errorf("Prepare after the window carries %+v", r)
	}
}

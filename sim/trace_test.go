package sim

import (
	"strings"
	"testing"

	"github.com/tenure-dev/tenure/protocol"
)

// typed is a message of one type, for the trace's packing.
type typed protocol.MsgType

func (t typed) Type() protocol.MsgType { return protocol.MsgType(t) }
func (typed) Lease() string            { return "" }

// TestTraceNamesEveryMessageType checks that a delivery record names each
// message type it carried, for every type the protocol has: a type wider
// than the packing printed as another type (found with the configuration
// messages, types 16 and up, packed in 4 bits).
func TestTraceNamesEveryMessageType(t *testing.T) {
	var all []protocol.Message
	for ty := 1; ty < protocol.NumMsgTypes; ty++ {
		all = append(all, typed(ty))
	}
	per := 64 / typeBits
	for start := 0; start < len(all); start += per {
		batch := all[start:min(start+per, len(all))]
		got := strings.Fields(msgTypes(packTypes(batch)))
		if len(got) != len(batch) {
			t.Fatalf("types %d..: %d names %q for %d messages", start+1, len(got), got, len(batch))
		}
		for i, m := range batch {
			if want := m.Type().String(); got[i] != want {
				t.Errorf("type %d printed as %q, want %q", m.Type(), got[i], want)
			}
		}
	}
	if 1<<typeBits <= protocol.NumMsgTypes-1 {
		t.Fatalf("%d bits cannot hold message type %d", typeBits, protocol.NumMsgTypes-1)
	}
}

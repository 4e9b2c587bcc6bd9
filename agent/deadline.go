package agent

import (
	"math"
	"time"
)

// deadlineMS is the one rule by which the agent hands a deadline to a
// client (R16): every deadline_ms it writes, in an answer, a hold-stream
// event or a listing, is
//
//	floor((d - received) * (1-ε)/(1+ε)) in milliseconds, never negative,
//
// where d is the agent's own deadline for the tenure (the node's lease
// deadline, and in keepalive mode no later than the keepalive expiry) and
// received is the instant the agent received the request being answered,
// both on the agent's clock, and ε is the node's MaxDrift.
//
// Why the client may add it to its own send time: the client sent before
// the agent received, in real time. The span d - received, as the agent's
// clock measures it, lasts at least (d - received)/(1+ε) of real time; the
// client's clock, running at no less than 1-ε, counts deadline_ms in at
// most deadline_ms/(1-ε) = (d - received)/(1+ε) of real time. So send time
// plus deadline_ms, by the client's clock, ends no later in real time than
// d: on any host, with both clocks' rates within ε of real time, however
// long the request waited in the agent or the answer on the way back.
func deadlineMS(d, received time.Time, drift float64) int64 {
	span := d.Sub(received)
	if span <= 0 {
		return 0
	}
	scaled := float64(span) * (1 - drift) / (1 + drift)
	// One nanosecond off before flooring: a rounding error of the float
	// product can never push the answer up to the next millisecond.
	ms := math.Floor((scaled - 1) / float64(time.Millisecond))
	if ms <= 0 {
		return 0
	}
	return int64(ms)
}

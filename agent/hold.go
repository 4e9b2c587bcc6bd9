package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

// stream serves a hold-mode tenure: newline-delimited JSON events until
// the tenure ends, the client goes away or the agent stops. received is
// when the agent received the stream's request: every event's deadline_ms
// counts from it (R16), so the client adds it to the send time of that one
// request, however old the stream.
//
// A stream that ends while the tenure lasts (the client gone, a write
// that failed, the agent stopping) does not free the lease at once (R15):
// the client may act until the last deadline the stream told, so the
// agent frees it only once that has passed (endStream).
func (a *Agent) stream(w http.ResponseWriter, r *http.Request, h *held, received time.Time) {
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	send := func(g api.Grant) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(h.ttl))
		return enc.Encode(g) == nil && rc.Flush() == nil
	}
	g := h.tell(received)
	g.Event, g.LeaseKey = "acquired", h.key
	if !send(g) {
		h.endStream(reasonHangup)
		return
	}
	last := g.DeadlineMS
	tick := time.NewTicker(max(h.ttl/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-h.lease.Done():
			g := h.grant(received)
			g.DeadlineMS = 0
			g.Event = "released"
			if err := h.lease.Err(); !errors.Is(err, node.ErrReleased) {
				g.Event = "lost"
			}
			g.Error = h.lease.Err().Error()
			send(g)
			return
		case <-r.Context().Done():
			h.endStream(reasonHangup)
			return
		case <-a.ctx.Done():
			// The agent is stopping: the tenure stays the client's until
			// its last deadline, which this event repeats.
			g := h.grant(received)
			g.DeadlineMS = last
			g.Event = "stopping"
			g.Error = "the agent is stopping: it no longer renews this tenure; act only until your last deadline"
			h.endStream(reasonShutdown)
			send(g)
			return
		case <-tick.C:
			g := h.tell(received)
			g.Event = "renewed"
			if !send(g) {
				h.endStream(reasonHangup)
				return
			}
			last = g.DeadlineMS
		}
	}
}

// tell computes a hold-stream event for a stream received at received,
// and records the deadline it is computed from as told before the event
// is written: a write that fails may still have reached the client.
func (h *held) tell(received time.Time) api.Grant {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.lease.Deadline()
	ms := deadlineMS(d, received, h.a.drift)
	if ms > 0 && d.After(h.told) {
		h.told = d
	}
	return h.grantLocked(ms)
}

// endStream is called when a hold stream ends while its tenure may last.
// The agent stops telling deadlines and frees the lease for reason once
// the latest one it told has passed on its clock: the client's own
// deadline has then passed in real time (R16), so the release takes
// nothing from it (R15). If the tenure ends first (lost, released by the
// holder's DELETE, or abandoned by the node's Leave), the timer is
// stopped by watch.
func (h *held) endStream(reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streamEnded || h.released || h.lease.Err() != nil {
		return
	}
	h.streamEnded = true
	h.timer = time.AfterFunc(max(time.Until(h.told), 0), func() {
		_ = h.release(context.Background(), reason)
	})
}

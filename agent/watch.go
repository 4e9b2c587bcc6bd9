package agent

import (
	"encoding/json"
	"net/http"
	"time"
)

// watchWriteTimeout bounds one write to a watcher; a watcher that does not
// read is dropped rather than allowed to hold the agent's goroutine.
const watchWriteTimeout = 10 * time.Second

// watch serves GET /v1/leases/{name}?watch=1: a newline-delimited JSON
// stream of holder changes, as node.Observe reports them (R14: hints, from
// gossip announcements and the voters), until the client goes away or the
// agent shuts down. The first line is the current state; a vacancy is a
// line with "vacant": true and an empty node.
func (a *Agent) watch(w http.ResponseWriter, r *http.Request, name string) {
	if a.isClosed() {
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
		return
	}
	ctx, cancel := a.requestContext(r)
	defer cancel()
	changes := a.n.Observe(ctx, name)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	for h := range changes {
		line := hint(name, h)
		line.Vacant = h.Node == ""
		_ = rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
		if enc.Encode(line) != nil || rc.Flush() != nil {
			return // the client went away; Observe ends with ctx
		}
	}
}

package agent

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

// handleListAll serves GET /v1/leases?all=1: the node's own view as a
// voter (409 from a node that is not one).
func (a *Agent) handleListAll(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	v, err := a.n.VoterLeases(ctx)
	switch {
	case err == nil:
	case errors.Is(err, node.ErrNotVoter):
		writeError(w, http.StatusConflict, "node "+a.n.Name()+" is not a voter: ask a voter's agent for ?all=1 (only voters know every lease)")
		return
	case errors.Is(err, node.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
		return
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	resp := api.VoterLeases{Hint: true, Voter: v.Voter, ObservedAt: v.ObservedAt, Quarantined: v.Quarantined, Leases: []api.HolderHint{}}
	for _, l := range v.Leases {
		resp.Leases = append(resp.Leases, *hint(l.Name, l.Holder))
	}
	writeJSON(w, http.StatusOK, resp)
}

// listAll reads the all query parameter of GET /v1/leases: true for "1"
// or "true", false when absent, an error otherwise.
func listAll(r *http.Request) (bool, *httpError) {
	switch v := r.URL.Query().Get("all"); v {
	case "":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, badRequest("all=%s: want 1 or true", strconv.Quote(v))
	}
}

package agent

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

// votersAnswer describes the node's adopted voter configuration.
func (a *Agent) votersAnswer(k node.Membership) api.Voters {
	v := api.Voters{Epoch: k.Epoch, Voters: k.Voters, Next: k.Next, Joint: k.Joint(), MinEra: k.MinEra,
		Initial: a.n.InitialVoters(), Node: a.n.Name()}
	if v.Voters == nil {
		v.Voters = []string{}
	}
	for _, n := range k.All() {
		if n == a.n.Name() {
			v.Voter = true
		}
	}
	return v
}

// handleVoters serves GET /v1/voters: the voter configuration this
// agent's node has adopted. A non-voter learns a newer one from the
// voters' answers to its next request, so its answer may lag; a voter's
// is current.
func (a *Agent) handleVoters(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.votersAnswer(a.n.Voters()))
}

// reconfigureTimeout is how long PUT /v1/voters waits for a change: the
// wait W (about MaxTTL·(1+ε)/(1−ε)) and a few round trips, with room.
func (a *Agent) reconfigureTimeout() time.Duration { return 3*a.maxTTL + 30*time.Second }

// handleSetVoters serves PUT /v1/voters: change the voters online, to
// the body's list, planned from the body's from_epoch. It answers once
// the change is done: 200 with the new configuration; 400 for a bad
// list, 409 when another change came first or this node already drives
// one, 503 when no majority of the old or the new voters answered (the
// configuration stays consistent), 504 when the change outlasted the
// agent's wait (it goes on: GET tells where it ends).
func (a *Agent) handleSetVoters(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		a.metrics.refused.WithLabelValues(refusedContentType).Inc()
		writeError(w, http.StatusUnsupportedMediaType, "send the body as Content-Type: application/json: {\"voters\":[...],\"from_epoch\":N}")
		return
	}
	var req api.SetVotersRequest
	if herr := decode(w, r, &req, false); herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	switch {
	case req.FromEpoch == nil:
		writeError(w, http.StatusBadRequest, "from_epoch is required: the epoch of the GET /v1/voters the change was planned from")
		return
	case len(req.Voters) == 0:
		writeError(w, http.StatusBadRequest, "voters is empty: a cluster needs at least one voter")
		return
	}
	if a.isClosed() {
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
		return
	}
	ctx, cancel := a.requestContext(r)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, a.reconfigureTimeout())
	defer cancelT()
	k, err := a.n.Reconfigure(ctx, req.Voters, *req.FromEpoch)
	switch {
	case err == nil:
		a.log.Info("voters changed", "config", k.String())
		writeJSON(w, http.StatusOK, a.votersAnswer(k))
	case errors.Is(err, node.ErrMembership):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, node.ErrConfigChanged), errors.Is(err, node.ErrReconfiguring):
		writeError(w, http.StatusConflict, err.Error()+"; now "+k.String())
	case errors.Is(err, node.ErrUnavailable):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case a.errClosing(err):
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, err.Error()+"; now "+a.n.Voters().String())
	case errors.Is(err, context.Canceled):
		// The client went away: nobody reads the answer.
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

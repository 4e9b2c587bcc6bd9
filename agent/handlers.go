package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
	"github.com/tenure-dev/tenure/protocol"
)

// holderTimeout bounds the voters query made to describe the holder of a
// lease an acquire could not have.
const holderTimeout = 2 * time.Second

// leaseName reads and checks the {name} path segment (api.CheckName).
func leaseName(r *http.Request) (string, *httpError) {
	name := r.PathValue("name")
	if err := api.CheckName(name); err != nil {
		return "", badRequest("%s", strings.TrimPrefix(err.Error(), api.ErrBadName.Error()+": "))
	}
	return name, nil
}

// handleAcquire serves POST /v1/leases/{name}.
func (a *Agent) handleAcquire(w http.ResponseWriter, r *http.Request) {
	start := time.Now() // R16: the receipt every deadline of the answer counts from
	name, herr := leaseName(r)
	var req api.AcquireRequest
	if herr == nil {
		herr = decode(w, r, &req, true)
	}
	ttl, wait := time.Duration(req.TTL), time.Duration(req.Wait)
	if ttl == 0 {
		ttl = a.defaultTTL
	}
	switch {
	case herr != nil:
	case ttl < MinTTL || ttl > a.maxTTL:
		herr = badRequest("ttl %v outside [%v, %v]", ttl, MinTTL, a.maxTTL)
	case wait < 0 || wait > a.cfg.MaxWait:
		herr = badRequest("wait %v outside [0s, %v]", wait, a.cfg.MaxWait)
	case len(req.Value) > protocol.MaxValueLen:
		herr = badRequest("value is %d bytes, longer than %d", len(req.Value), protocol.MaxValueLen)
	case req.Slots < 0 || req.Slots > node.MaxSlots:
		herr = badRequest("slots %d outside [0, %d]", req.Slots, node.MaxSlots)
	case req.Slots > 0 && protocol.CheckName(node.SlotName(name, req.Slots-1)) != nil:
		herr = badRequest("lease name %q is too long for %d slots (slot names are NAME#i, at most %d bytes)", name, req.Slots, protocol.MaxNameLen)
	}
	if herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	if a.isClosed() {
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
		return
	}
	if req.Hold {
		if a.holds.Add(1) > int64(a.cfg.MaxHolds) {
			a.holds.Add(-1)
			a.metrics.refused.WithLabelValues(refusedHolds).Inc()
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the agent is serving %d hold-mode acquires, its limit (--http-max-holds); try again later, or use keepalive mode", a.cfg.MaxHolds))
			return
		}
		defer a.holds.Add(-1)
	}
	outcome := "error"
	defer func() {
		a.metrics.acquisitions.WithLabelValues(outcome).Inc()
		a.metrics.acquireTime.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	}()

	ctx, cancel := a.requestContext(r)
	defer cancel()
	opts := []node.AcquireOption{node.WithTTL(ttl)}
	if req.Value != "" {
		opts = append(opts, node.WithValue([]byte(req.Value)))
	}
	var l *node.Lease
	var err error
	switch {
	case req.Slots > 0 && wait > 0:
		wctx, wcancel := context.WithTimeout(ctx, wait)
		l, err = a.n.AcquireSlot(wctx, name, req.Slots, opts...)
		wcancel()
	case req.Slots > 0:
		l, err = a.trySlots(ctx, name, req.Slots, opts)
	case wait > 0:
		wctx, wcancel := context.WithTimeout(ctx, wait)
		l, err = a.n.Acquire(wctx, name, opts...)
		wcancel()
	default:
		l, err = a.n.TryAcquire(ctx, name, opts...)
	}
	switch {
	case err == nil:
	case r.Context().Err() != nil:
		outcome = "canceled"
		return // nobody to answer
	case a.errClosing(err):
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
		return
	case errors.Is(err, node.ErrUnavailable):
		outcome = "unavailable"
		a.refuseUnavailable(w, err)
		return
	case errors.Is(err, node.ErrHeld), errors.Is(err, context.DeadlineExceeded):
		outcome = "held"
		a.refuseHeld(w, r, name, err)
		return
	case errors.Is(err, node.ErrContended):
		outcome = "contended"
		writeError(w, http.StatusConflict, "contended: "+err.Error())
		return
	case errors.Is(err, node.ErrBadTTL), errors.Is(err, node.ErrBadName), errors.Is(err, node.ErrValueTooLarge):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	default:
		a.log.Error("acquire failed", "name", name, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	outcome = "granted"
	h, err := a.register(l, ttl, req.Hold)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
		return
	}
	if req.Hold {
		defer a.streams.Done()
	}
	a.log.Info("lease granted", "name", name, "token", l.Token(), "ttl", ttl, "hold", req.Hold)
	if r.Context().Err() != nil {
		// The client left while the grant was on its way: nobody was told
		// of it, so nobody holds it.
		h.release(context.Background(), reasonHangup)
		return
	}
	if req.Hold {
		a.stream(w, r, h, start)
		return
	}
	g := h.grant(start)
	g.LeaseKey = h.key
	writeJSON(w, http.StatusOK, g)
}

// trySlots makes one round over the slots of a semaphore: the first slot
// that can be had, or ErrHeld when every one is held.
func (a *Agent) trySlots(ctx context.Context, name string, slots int, opts []node.AcquireOption) (*node.Lease, error) {
	err := node.ErrHeld
	for i := range slots {
		l, e := a.n.TryAcquire(ctx, node.SlotName(name, i), opts...)
		if e == nil {
			return l, nil
		}
		if !errors.Is(e, node.ErrHeld) && !errors.Is(e, node.ErrContended) {
			return nil, e
		}
	}
	return nil, err
}

// refuseHeld answers 409 for an acquire that could not be had, with the
// voters' hint of the holder when they give one in time.
func (a *Agent) refuseHeld(w http.ResponseWriter, r *http.Request, name string, cause error) {
	ctx, cancel := context.WithTimeout(r.Context(), holderTimeout)
	defer cancel()
	resp := api.ErrorResponse{Error: "held"}
	h, err := a.n.Holder(ctx, name)
	switch {
	case err == nil:
		resp.Holder = hint(name, h)
	case errors.Is(cause, context.DeadlineExceeded) && errors.Is(err, node.ErrUnavailable):
		// The wait ran out, and the voters do not answer now either.
		a.refuseUnavailable(w, err)
		return
	case errors.Is(cause, context.DeadlineExceeded):
		resp.Error = "wait ran out without a grant: " + err.Error()
	}
	writeJSON(w, http.StatusConflict, resp)
}

// refuseUnavailable answers 503 for a request the cluster could not serve
// because too few voters answered: the error says why, with the counts
// ("no quorum: 1 of 3 voters answered", "quarantined for 12.3s more (...)"),
// and the refusal is counted by reason. It is never a 409: nothing is
// known about a holder.
func (a *Agent) refuseUnavailable(w http.ResponseWriter, err error) {
	reason, msg := unavailableReason(err)
	a.metrics.unavailable.WithLabelValues(reason).Inc()
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, msg)
}

// unavailableReason is the metric label and the message of an error that
// matches node.ErrUnavailable: the node's reason, and its message without
// the wrapping of a ctx error.
func unavailableReason(err error) (reason, msg string) {
	var u *node.UnavailableError
	if errors.As(err, &u) {
		return u.Reason, u.Error()
	}
	return node.ReasonNoQuorum, err.Error()
}

func hint(name string, h node.Holder) *api.HolderHint {
	return &api.HolderHint{
		Name: name, Node: h.Node, Token: h.Token, TokenStr: strconv.FormatUint(h.Token, 10),
		Value: string(h.Value), RemainingMS: h.Remaining.Milliseconds(), Hint: true,
	}
}

// errStopping is the answer to a call that would renew or release a
// tenure once the agent is stopping: it does neither (R15), and the
// client keeps its last deadline.
const errStopping = "agent is stopping: it neither renews nor releases tenures any more; act only until your last deadline"

// handleKeepalive serves POST /v1/leases/{name}/keepalive.
func (a *Agent) handleKeepalive(w http.ResponseWriter, r *http.Request) {
	received := time.Now() // R16: the answer's deadline counts from here
	if a.isClosed() {
		a.metrics.keepalives.WithLabelValues("stopping").Inc()
		writeError(w, http.StatusServiceUnavailable, errStopping)
		return
	}
	name, herr := leaseName(r)
	var req api.KeepaliveRequest
	if herr == nil {
		herr = decode(w, r, &req, false)
	}
	if herr == nil && req.Token == 0 {
		herr = badRequest("token is required")
	}
	if herr != nil {
		a.metrics.keepalives.WithLabelValues("bad_request").Inc()
		writeError(w, herr.status, herr.msg)
		return
	}
	key := r.Header.Get(api.LeaseKeyHeader)
	if key == "" {
		key = req.LeaseKey
	}
	h, err := a.lookup(name, uint64(req.Token), key)
	var g api.Grant
	if err == nil {
		g, err = h.keepalive(received)
	}
	if err != nil {
		a.metrics.keepalives.WithLabelValues(tenureErrLabel(err)).Inc()
		writeError(w, tenureErrStatus(err), err.Error())
		return
	}
	a.metrics.keepalives.WithLabelValues("ok").Inc()
	writeJSON(w, http.StatusOK, g)
}

// handleRelease serves DELETE /v1/leases/{name}?token=T, with the lease
// key in the Tenure-Lease-Key header.
func (a *Agent) handleRelease(w http.ResponseWriter, r *http.Request) {
	if a.isClosed() {
		writeError(w, http.StatusServiceUnavailable, errStopping)
		return
	}
	name, herr := leaseName(r)
	if herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	ts := r.URL.Query().Get("token")
	if ts == "" {
		writeError(w, http.StatusBadRequest, "token query parameter is required")
		return
	}
	token, err := strconv.ParseUint(ts, 10, 64)
	if err != nil || token == 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("token %q is not a positive 64-bit integer", ts))
		return
	}
	h, err := a.lookup(name, token, r.Header.Get(api.LeaseKeyHeader))
	if err == nil {
		if err = h.release(r.Context(), reasonClient); err != nil {
			err = fmt.Errorf("%w: %w", ErrGone, err)
		}
	}
	if err != nil {
		writeError(w, tenureErrStatus(err), err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func tenureErrStatus(err error) int {
	switch {
	case errors.Is(err, ErrGone):
		return http.StatusGone
	case errors.Is(err, errMismatch), errors.Is(err, errHoldMode):
		return http.StatusConflict
	case errors.Is(err, errBadKey):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

func tenureErrLabel(err error) string {
	switch {
	case errors.Is(err, ErrGone):
		return "gone"
	case errors.Is(err, errBadKey):
		return "forbidden"
	}
	return "mismatch"
}

// handleHolder serves GET /v1/leases/{name}: a hint (R14).
func (a *Agent) handleHolder(w http.ResponseWriter, r *http.Request) {
	name, herr := leaseName(r)
	if herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	switch watch := r.URL.Query().Get("watch"); watch {
	case "":
	case "1", "true":
		a.watch(w, r, name)
		return
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("watch=%q: want 1 or true", watch))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h, err := a.n.Holder(ctx, name)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, hint(name, h))
	case errors.Is(err, node.ErrNoHolder):
		writeError(w, http.StatusNotFound, "no holder (a hint: a majority of voters know of no live tenure)")
	case errors.Is(err, node.ErrUnavailable):
		a.refuseUnavailable(w, err)
	case errors.Is(err, node.ErrNoQuorum), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "no majority of voters answered")
	case errors.Is(err, node.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// handleList serves GET /v1/leases, and GET /v1/leases?all=1
// (handleListAll).
func (a *Agent) handleList(w http.ResponseWriter, r *http.Request) {
	all, herr := listAll(r)
	if herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	if all {
		a.handleListAll(w, r)
		return
	}
	writeJSON(w, http.StatusOK, api.Leases{Leases: a.grants(time.Now())}) // never with lease keys
}

// handleMembers serves GET /v1/members.
func (a *Agent) handleMembers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.membership())
}

// handleHealth serves GET /healthz: 200 while the agent serves, 503 once
// it is closing.
func (a *Agent) handleHealth(w http.ResponseWriter, r *http.Request) {
	if a.isClosed() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "closing", "node": a.n.Name()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "node": a.n.Name()})
}

// readyTimeout bounds the voters probe of GET /readyz.
const readyTimeout = 2 * time.Second

// handleReady serves GET /readyz: 200 when a majority of voters answers a
// probe and this node is not in quarantine, else 503 with the reason.
// Unlike /healthz (the process serves), it says whether leases can be had.
func (a *Agent) handleReady(w http.ResponseWriter, r *http.Request) {
	resp := api.Readiness{Status: "ready", Node: a.n.Name(), Voters: []api.VoterReach{}}
	if a.isClosed() {
		resp.Status, resp.Error = "closing", "agent is shutting down"
		writeJSON(w, http.StatusServiceUnavailable, resp)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	rd, err := a.n.Ready(ctx)
	resp.Answered, resp.Quarantined, resp.QuarantineLeftMS = rd.Answered, rd.Quarantined, rd.QuarantineLeft.Milliseconds()
	for _, v := range rd.Voters {
		last := int64(-1)
		if v.LastAnswer >= 0 {
			last = v.LastAnswer.Milliseconds()
		}
		resp.Voters = append(resp.Voters, api.VoterReach{Name: v.Name, Self: v.Self, Answered: v.Answered, LastAnswerMS: last})
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, resp)
		return
	case errors.Is(err, node.ErrUnavailable):
		_, resp.Error = unavailableReason(err)
	case errors.Is(err, node.ErrClosed):
		resp.Status, resp.Error = "closing", "agent is shutting down"
		writeJSON(w, http.StatusServiceUnavailable, resp)
		return
	default:
		resp.Error = err.Error()
	}
	resp.Status = "unavailable"
	writeJSON(w, http.StatusServiceUnavailable, resp)
}

package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tenure-dev/tenure/api"
)

// routes builds the API: the mux, wrapped in the checks every request
// passes first (the token-less guard or the bearer token, then the body
// read under its deadline), JSON errors for unknown paths and methods,
// and a request counter.
func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/leases/{name}", a.handleAcquire)
	mux.HandleFunc("POST /v1/leases/{name}/keepalive", a.handleKeepalive)
	mux.HandleFunc("DELETE /v1/leases/{name}", a.handleRelease)
	mux.HandleFunc("GET /v1/leases/{name}", a.handleHolder)
	mux.HandleFunc("/v1/leases/{$}", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusBadRequest, "lease name is empty")
	})
	mux.HandleFunc("GET /v1/leases", a.handleList)
	mux.HandleFunc("GET /v1/members", a.handleMembers)
	mux.HandleFunc("GET /v1/voters", a.handleVoters)
	mux.HandleFunc("PUT /v1/voters", a.handleSetVoters)
	mux.HandleFunc("GET /healthz", a.handleHealth)
	mux.HandleFunc("GET /readyz", a.handleReady)
	metrics := promhttp.HandlerFor(a.cfg.Registry, promhttp.HandlerOpts{})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
		metrics.ServeHTTP(w, r)
	})
	var tokenSum [32]byte
	if a.cfg.Token != "" {
		tokenSum = sha256.Sum256([]byte(a.cfg.Token))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() { a.metrics.requests.WithLabelValues(sw.class()).Inc() }()
		rc := http.NewResponseController(sw)
		// The body, like the headers before it, must arrive within
		// ReadTimeout; the deadline is lifted once it has been read, so
		// that streams last as long as they need. Writes get deadlines
		// of their own (writeJSON, streams); none is left over from an
		// earlier request on the connection.
		_ = rc.SetReadDeadline(time.Now().Add(a.cfg.ReadTimeout))
		_ = rc.SetWriteDeadline(time.Time{})
		var no *refusal
		switch {
		case a.cfg.Token == "":
			no = checkLocal(r)
		case r.URL.Path != "/healthz" && !authorized(r, tokenSum):
			sw.Header().Set("WWW-Authenticate", `Bearer realm="tenure"`)
			no = &refusal{httpError{http.StatusUnauthorized, "missing or wrong bearer token (send Authorization: Bearer <token>)"}, refusedAuth}
		}
		if no == nil {
			no = readBody(r)
		}
		if no == nil && hasDotSegment(r.URL.EscapedPath()) {
			// The mux would redirect to the path without it: another
			// route, or another lease.
			no = &refusal{httpError{http.StatusBadRequest, "the path holds a dot-segment (\".\" or \"..\"), which the agent does not resolve: the lease names \".\" and \"..\" are refused, and other names travel URL-encoded"}, ""}
		}
		if no != nil {
			a.refuse(sw, r, rc, no)
			return
		}
		_ = rc.SetReadDeadline(time.Time{})
		h, pattern := mux.Handler(r)
		if pattern == "" {
			// The mux's own 404 and 405 answers, turned into JSON.
			h.ServeHTTP(&jsonErrorWriter{ResponseWriter: sw}, r)
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

// writeTimeout bounds the write of an answer that is not a stream: a
// client that does not read it loses the connection.
const writeTimeout = 10 * time.Second

// refuse answers a request turned away before its handler, counts it, and
// closes the connection after the answer. What is left of the body is
// drained first, at most refuseDrainBytes within refuseLinger: closing a
// socket with unread bytes in it sends a reset, and a reset that reaches
// the client while it is still writing the body destroys the answer in
// its buffers (Go's client reports "connection reset by peer" instead of
// the 413). A body beyond the bound is not read; its sender may see the
// reset, the price of not reading it.
func (a *Agent) refuse(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, no *refusal) {
	if no.reason != "" {
		a.metrics.refused.WithLabelValues(no.reason).Inc()
	}
	w.Header().Set("Connection", "close")
	_ = rc.SetReadDeadline(time.Now().Add(refuseLinger))
	// writeJSON gives it a Content-Length, so the answer is whole before
	// the drain: a client that waits for it before sending its body
	// (Expect: 100-continue) is done at once.
	writeError(w, no.status, no.msg)
	_ = rc.Flush()
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, refuseDrainBytes))
	}
}

// refuseDrainBytes bounds what refuse reads of a refused request's body.
const refuseDrainBytes = 1 << 20

// hasDotSegment reports whether an escaped URL path has a segment "." or
// "..".
func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// readBody reads r's whole body (at most MaxBodyBytes) under the read
// deadline already set, and puts it back in memory, so that no handler
// ever waits on a client's body. A body not received in time is 408.
func readBody(r *http.Request) *refusal {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return &refusal{httpError{http.StatusRequestTimeout, "request body not received in time"}, refusedReadTimeout}
	case err != nil:
		return &refusal{httpError{http.StatusBadRequest, "cannot read the body: " + err.Error()}, ""}
	case len(b) > MaxBodyBytes:
		return &refusal{httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBodyBytes)}, ""}
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return nil
}

// writeJSON writes v, and a newline, with the given status and its
// Content-Length.
func writeJSON(w http.ResponseWriter, status int, v any) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer"}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, api.ErrorResponse{Error: msg})
}

// httpError is a request failure with its HTTP status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) *httpError {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// decode reads r's JSON body into v: at most MaxBodyBytes, no unknown
// fields, exactly one object. An empty body leaves v alone if allowEmpty.
func decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) *httpError {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// Read to the end: nothing may follow the object, and a body read
		// to EOF lets the server notice a client that hangs up.
		if _, err = dec.Token(); err == io.EOF {
			return nil
		}
		if err == nil {
			return badRequest("body has data after the JSON object")
		}
	}
	var (
		maxErr  *http.MaxBytesError
		synErr  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF) && allowEmpty:
		return nil
	case errors.Is(err, io.EOF):
		return badRequest("body is empty; want a JSON object")
	case errors.As(err, &maxErr):
		return &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body larger than %d bytes", MaxBodyBytes)}
	case errors.As(err, &synErr):
		return badRequest("malformed JSON at byte %d: %v", synErr.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: body ends inside a value")
	case errors.As(err, &typeErr):
		return badRequest("field %q: cannot use JSON %s here", typeErr.Field, typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return badRequest("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return badRequest("bad body: %v", err)
}

// statusWriter remembers the status code for the request counter. It
// passes Flush and deadlines through (http.ResponseController uses
// Unwrap).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) class() string {
	switch s := w.status; {
	case s == 0 || s < 300:
		return "2xx"
	case s < 400:
		return "3xx"
	case s < 500:
		return "4xx"
	}
	return "5xx"
}

// jsonErrorWriter turns the mux's plain-text error answers into JSON
// {"error": ...}, keeping the status and the Allow header.
type jsonErrorWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *jsonErrorWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	msg := strings.ToLower(http.StatusText(code))
	if code == http.StatusMethodNotAllowed {
		msg = "method not allowed; allowed: " + w.Header().Get("Allow")
	}
	w.Header().Del("X-Content-Type-Options")
	writeError(w.ResponseWriter, code, msg)
}

func (w *jsonErrorWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return len(b), nil // the plain-text body is replaced
}

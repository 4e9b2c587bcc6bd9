package agent

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes builds the API: the mux, wrapped in authentication, JSON errors
// for unknown paths and methods, and a request counter.
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
	mux.HandleFunc("GET /healthz", a.handleHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.cfg.Registry, promhttp.HandlerOpts{}))
	var tokenSum [32]byte
	if a.cfg.Token != "" {
		tokenSum = sha256.Sum256([]byte(a.cfg.Token))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() { a.metrics.requests.WithLabelValues(sw.class()).Inc() }()
		if a.cfg.Token != "" && r.URL.Path != "/healthz" && !authorized(r, tokenSum) {
			sw.Header().Set("WWW-Authenticate", `Bearer realm="tenure"`)
			writeError(sw, http.StatusUnauthorized, "missing or wrong bearer token (send Authorization: Bearer <token>)")
			return
		}
		h, pattern := mux.Handler(r)
		if pattern == "" {
			// The mux's own 404 and 405 answers, turned into JSON.
			h.ServeHTTP(&jsonErrorWriter{ResponseWriter: sw}, r)
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

// authorized compares r's bearer token with the configured one in constant
// time (hashing first, so the length leaks nothing either).
func authorized(r *http.Request, want [32]byte) bool {
	auth := r.Header.Get("Authorization")
	got, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorResponse{Error: msg})
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

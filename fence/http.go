package fence

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Header names of a fenced request. A client sends the token of its tenure
// in decimal on every request that must be fenced; it may also send the
// lease name the token belongs to, which the resource then checks against
// its own.
const (
	// TokenHeader carries the fencing token as a decimal uint64.
	TokenHeader = "Fencing-Token"
	// NameHeader carries the lease name the client believes the token
	// belongs to. It is optional, and never decides which name is checked:
	// a request whose NameHeader differs from the name the resource is
	// protected by is refused (ErrWrongName).
	NameHeader = "Lease-Name"
)

// Route maps a request to the lease name that protects the resource the
// request acts on. It must derive the name from what the request addresses
// (its path: r.PathValue("key"), a fixed name per handler, a table of
// routes), never from what the request claims about itself (its
// Lease-Name header): a caller free to pick the name picks one whose
// highest token is lower. It returns an error for a request that addresses
// no fenced resource; the middleware answers that with a 400.
type Route func(r *http.Request) (string, error)

// PathValue returns a Route that names the lease by the request's path
// wildcard key, for a middleware registered on a ServeMux pattern that has
// it: mux.Handle("PUT /v1/keys/{key}", g.Middleware(fence.PathValue("key"),
// h)) fences each key by the lease of the same name. A request without the
// wildcard (the middleware mounted on a pattern that lacks it) is refused.
func PathValue(key string) Route {
	return func(r *http.Request) (string, error) {
		v := r.PathValue(key)
		if v == "" {
			return "", fmt.Errorf("request has no path value {%s}", key)
		}
		return v, nil
	}
}

// Middleware returns a handler that fences next: for each request it asks
// route for the lease name that protects the resource the request
// addresses, reads TokenHeader (and NameHeader, if present) with
// ReadToken, and answers
//
//   - 400 with {"error": "..."} if route fails or returns an invalid name,
//     the token header is missing, repeated or malformed, the token is 0,
//     or NameHeader is repeated or names another lease (ErrWrongName);
//   - 409 with {"error": "stale token", "name": ..., "token": ...,
//     "highest": ...} if the token is below the highest admitted for the
//     routed name;
//   - 503 with {"error": "..."} if the Guard is closed or cannot write a
//     raised token to disk;
//
// and otherwise calls next inside Do under the routed name, so that the
// check and next are one step per name (see Do). Tokens in the 409 body are
// decimal strings, not JSON numbers: real tokens exceed 2^53 and JavaScript
// would round them.
//
// There is no middleware that takes the lease name from the request's
// header: that is the mistake route exists to prevent. A resource protected
// by one name uses Resource.Middleware. Middleware panics if route or next
// is nil, as http.Handle does for a nil handler.
//
// Because next runs under the name's lock, a slow request delays the other
// requests for the same name (not other names). next must not make a fenced
// request for the same name to this server.
func (g *Guard) Middleware(route Route, next http.Handler) http.Handler {
	if route == nil || next == nil {
		panic("fence: Middleware needs a Route and a handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, err := route(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{
				"error": fmt.Sprintf("%v: %v", ErrBadRequest, err)})
			return
		}
		token, err := ReadToken(r.Header, name)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		err = g.Do(name, token, func() error {
			next.ServeHTTP(w, r)
			return nil
		})
		writeError(w, err)
	})
}

// Middleware returns a handler that fences every request to next with the
// name r is bound to: Guard.Middleware with a Route that always answers
// r.Name().
func (r *Resource) Middleware(next http.Handler) http.Handler {
	name := r.name
	return r.g.Middleware(func(*http.Request) (string, error) { return name, nil }, next)
}

// ReadToken reads the fencing token of a request to a resource protected by
// the lease name: TokenHeader must appear exactly once, as a non-zero
// decimal uint64. NameHeader may be absent; if present it must appear once
// and equal name byte for byte, or ReadToken fails with ErrWrongName. It
// fails with ErrBadName if name itself is invalid, ErrNoToken for token 0
// and ErrBadRequest for a missing, repeated or malformed header.
//
// Use it in a handler that does its own parsing and then calls Do with the
// same name; Middleware calls it for you.
func ReadToken(h http.Header, name string) (uint64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	toks := h.Values(TokenHeader)
	if len(toks) != 1 {
		return 0, fmt.Errorf("%w: want exactly one %s header, got %d", ErrBadRequest, TokenHeader, len(toks))
	}
	token, err := strconv.ParseUint(toks[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s header %q is not a decimal uint64", ErrBadRequest, TokenHeader, toks[0])
	}
	if token == 0 {
		return 0, fmt.Errorf("%w: lease %q", ErrNoToken, name)
	}
	switch names := h.Values(NameHeader); {
	case len(names) > 1:
		// Which copy a proxy or server would pick is not defined.
		return 0, fmt.Errorf("%w: want at most one %s header, got %d", ErrBadRequest, NameHeader, len(names))
	case len(names) == 1 && names[0] != name:
		return 0, fmt.Errorf("%w: %s %q, but this resource is fenced by lease %q", ErrWrongName, NameHeader, names[0], name)
	}
	return token, nil
}

// writeError answers the error of a fenced Do: nothing for nil (next has
// answered), 409 for a stale token, 400 for a bad name or token, 503 for
// the rest (closed, or the disk failed).
func writeError(w http.ResponseWriter, err error) {
	var stale *StaleError
	switch {
	case err == nil:
	case errors.As(err, &stale):
		writeJSON(w, http.StatusConflict, map[string]string{
			"error":   "stale token",
			"name":    stale.Name,
			"token":   strconv.FormatUint(stale.Token, 10),
			"highest": strconv.FormatUint(stale.Highest, 10),
		})
	case errors.Is(err, ErrNoToken), errors.Is(err, ErrBadName):
		// ReadToken checks both; kept so a future rule still gets a 400.
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	}
}

// writeJSON answers with status and body encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, body map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

package fence

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Header names the middleware reads. A client sends the token of its tenure
// in decimal and the lease name it belongs to, on every request that must be
// fenced.
const (
	// TokenHeader carries the fencing token as a decimal uint64.
	TokenHeader = "Fencing-Token"
	// NameHeader carries the lease name the token belongs to.
	NameHeader = "Lease-Name"
)

// Middleware returns a handler that fences next. It reads NameHeader and
// TokenHeader, each exactly once, and answers
//
//   - 400 with {"error": "..."} if a header is missing, repeated or
//     malformed, the name is invalid or the token is 0;
//   - 409 with {"error": "stale token", "name": ..., "token": ..., "highest":
//     ...} if the token is below the highest admitted for the name;
//   - 503 with {"error": "..."} if the Guard is closed or cannot write a
//     raised token to disk;
//
// and otherwise calls next inside Do, so that the check and next are one step
// per name (see Do). Tokens in the 409 body are decimal strings, not JSON
// numbers: real tokens exceed 2^53 and JavaScript would round them.
//
// Because next runs under the name's lock, a slow request delays the other
// requests for the same name (not other names). next must not make a fenced
// request for the same name to this server.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, token, err := readHeaders(r.Header)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		err = g.Do(name, token, func() error {
			next.ServeHTTP(w, r)
			return nil
		})
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
			// readHeaders checks both; kept so a future rule still gets a 400.
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		default:
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		}
	})
}

// readHeaders extracts and validates the lease name and token. A repeated
// header is refused: which copy a proxy or server would pick is not defined.
func readHeaders(h http.Header) (string, uint64, error) {
	names := h.Values(NameHeader)
	if len(names) != 1 {
		return "", 0, fmt.Errorf("want exactly one %s header, got %d", NameHeader, len(names))
	}
	toks := h.Values(TokenHeader)
	if len(toks) != 1 {
		return "", 0, fmt.Errorf("want exactly one %s header, got %d", TokenHeader, len(toks))
	}
	token, err := strconv.ParseUint(toks[0], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%s header %q is not a decimal uint64", TokenHeader, toks[0])
	}
	if err := checkCall(names[0], token); err != nil {
		return "", 0, err
	}
	return names[0], token, nil
}

// writeJSON answers with status and body encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, body map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

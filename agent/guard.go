package agent

import (
	"crypto/sha256"
	"crypto/subtle"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/tenure-dev/tenure/api"
)

// Why a request or a connection was refused: label values of
// tenure_http_refused_total.
const (
	refusedHost        = "host"         // 421: a Host a browser would send after DNS rebinding
	refusedOrigin      = "origin"       // 403: sent by a web page
	refusedContentType = "content_type" // 415: a body that is not declared JSON
	refusedAuth        = "unauthorized" // 401: missing or wrong bearer token
	refusedReadTimeout = "read_timeout" // 408: the body did not arrive in time
	refusedConns       = "connections"  // 503: over Config.MaxConns
	refusedWatches     = "watches"      // 503: over Config.MaxWatches
	refusedHolds       = "holds"        // 503: over Config.MaxHolds
)

// refusal is why the token-less guard or the bearer check turned a
// request away: the answer and the metric label.
type refusal struct {
	httpError
	reason string
}

// checkLocal applies the rules of an agent without a bearer token, which
// trusts every local process and nothing a web browser sends on a web
// page's behalf (see the package documentation, "Security"):
//
//   - the Host must be localhost or an IP literal: a page that made its
//     own host name resolve to 127.0.0.1 (DNS rebinding) sends that name;
//   - no Origin header: browsers send one with every cross-origin request
//     and every POST, and no program of this project sends one;
//   - a request other than GET and HEAD that has a body must declare it
//     "Content-Type: application/json", which a page cannot send to
//     another origin without a CORS preflight (that this agent never
//     answers); an empty body may come without a Content-Type.
func checkLocal(r *http.Request) *refusal {
	if !localHost(r.Host) {
		return &refusal{httpError{http.StatusMisdirectedRequest, "Host " + api.QuoteName(r.Host) + " refused: an agent without --http-token-file answers only Host localhost or an IP address (a web page may reach it under another name by DNS rebinding)"}, refusedHost}
	}
	if len(r.Header.Values("Origin")) > 0 {
		return &refusal{httpError{http.StatusForbidden, "requests with an Origin header come from web pages, which an agent without --http-token-file does not serve"}, refusedOrigin}
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength == 0 {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		what := "Content-Type " + api.QuoteName(ct)
		if ct == "" {
			what = "a body without Content-Type"
		}
		return &refusal{httpError{http.StatusUnsupportedMediaType, what + " refused: send the body as Content-Type: application/json (curl: -H 'Content-Type: application/json')"}, refusedContentType}
	}
	return nil
}

// localHost reports whether a Host header value names localhost or an IP
// address, with or without a port.
func localHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		h = host[1 : len(host)-1]
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	_, err := netip.ParseAddr(h)
	return err == nil
}

// bearer is the token of an "Authorization: Bearer <token>" header; the
// scheme is case-insensitive (RFC 7235) and may be followed by several
// spaces. ok is false without such a header.
func bearer(r *http.Request) (token string, ok bool) {
	scheme, rest, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// authorized compares r's bearer token with the configured one in constant
// time (hashing first, so the length leaks nothing either).
func authorized(r *http.Request, want [32]byte) bool {
	got, ok := bearer(r)
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

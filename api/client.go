package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client calls an agent's HTTP API. Its zero value is not usable: set
// BaseURL. It is safe for concurrent use.
type Client struct {
	// BaseURL is the agent's address, such as "http://127.0.0.1:7947".
	BaseURL string
	// Token is the bearer token, if the agent requires one.
	Token string
	// HTTP is the client to use; nil means http.DefaultClient. For an
	// agent serving TLS with a certificate of a private CA, use
	// TLSHTTPClient.
	HTTP *http.Client
}

// TLSHTTPClient is an *http.Client for Client.HTTP that makes its TLS
// connections with cfg (set cfg.RootCAs to trust a private CA), and is
// otherwise like http.DefaultClient (proxy from the environment, the
// default transport's timeouts).
func TLSHTTPClient(cfg *tls.Config) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	return &http.Client{Transport: t}
}

// explainTLS adds what to do to a certificate error.
func explainTLS(err error) error {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ve *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ua) || errors.As(err, &ve) && errors.As(ve.Err, &ua):
		return fmt.Errorf("%w (the agent's TLS certificate is not signed by a CA this client trusts: give the client that CA, e.g. tenure --ca FILE)", err)
	case errors.As(err, &hn):
		return fmt.Errorf("%w (the agent's TLS certificate does not name the host of the URL)", err)
	}
	return err
}

// APIError is an answer with a status of 400 or more.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Response is the decoded body (Error is the raw body if it was not
	// JSON).
	Response ErrorResponse
}

func (e *APIError) Error() string {
	return fmt.Sprintf("agent answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Response.Error)
}

// StatusOf returns the HTTP status of an *APIError in err's chain, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// Acquire asks for a keepalive-mode lease (req.Hold must be false). It
// returns the grant and the instant the request was sent: the caller's
// deadline is sent plus the grant's DeadlineMS, by the caller's clock
// (R16). Keep the grant's LeaseKey: Keepalive and Release need it.
func (c *Client) Acquire(ctx context.Context, name string, req AcquireRequest) (g Grant, sent time.Time, err error) {
	if req.Hold {
		return Grant{}, time.Time{}, errors.New("agent: Client.Acquire does not stream; use Hold false")
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Grant{}, time.Time{}, err
	}
	sent = time.Now()
	err = c.call(ctx, http.MethodPost, "/v1/leases/"+pathName(name), body, &g)
	return g, sent, err
}

// Keepalive keeps the tenure token of name alive; key is the lease key of
// the acquire answer. Like Acquire, it returns the instant the request was
// sent: the caller's deadline becomes the later of its current one and
// sent plus the answer's DeadlineMS.
func (c *Client) Keepalive(ctx context.Context, name string, token uint64, key string) (g Grant, sent time.Time, err error) {
	body := []byte(`{"token":"` + strconv.FormatUint(token, 10) + `"}`)
	sent = time.Now()
	err = c.call(ctx, http.MethodPost, "/v1/leases/"+pathName(name)+"/keepalive", body, &g, key)
	return g, sent, err
}

// Release releases the tenure token of name; key is the lease key of the
// acquire answer.
func (c *Client) Release(ctx context.Context, name string, token uint64, key string) error {
	return c.call(ctx, http.MethodDelete, "/v1/leases/"+pathName(name)+"?token="+strconv.FormatUint(token, 10), nil, nil, key)
}

// Holder asks who holds name: a hint (R14).
func (c *Client) Holder(ctx context.Context, name string) (HolderHint, error) {
	var h HolderHint
	err := c.call(ctx, http.MethodGet, "/v1/leases/"+pathName(name), nil, &h)
	return h, err
}

// Members returns the agent's view of the members and the voter quorum.
func (c *Client) Members(ctx context.Context) (Members, error) {
	var m Members
	err := c.call(ctx, http.MethodGet, "/v1/members", nil, &m)
	return m, err
}

// Leases lists the leases held through the agent.
func (c *Client) Leases(ctx context.Context) (Leases, error) {
	var l Leases
	err := c.call(ctx, http.MethodGet, "/v1/leases", nil, &l)
	return l, err
}

// VoterLeases asks a voter's agent for every live lease its node knows
// (GET /v1/leases?all=1): one voter's view, a hint (R14).
func (c *Client) VoterLeases(ctx context.Context) (VoterLeases, error) {
	var v VoterLeases
	err := c.call(ctx, http.MethodGet, "/v1/leases?all=1", nil, &v)
	return v, err
}

// call sends one request, with the lease key if key is given, and decodes
// a 2xx JSON answer into out (if not nil) or an error answer into an
// *APIError.
func (c *Client) call(ctx context.Context, method, path string, body []byte, out any, key ...string) error {
	resp, err := c.do(ctx, method, path, body, key...)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("agent: bad answer to %s %s: %w", method, path, err)
	}
	return nil
}

// do sends one request, with the lease key if key is given; an answer
// with a status of 400 or more is read and returned as an *APIError.
func (c *Client) do(ctx context.Context, method, path string, body []byte, key ...string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if len(key) > 0 && key[0] != "" {
		req.Header.Set(LeaseKeyHeader, key[0])
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, explainTLS(err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		ae := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(b, &ae.Response) != nil || ae.Response.Error == "" {
			ae.Response.Error = strings.TrimSpace(string(b))
		}
		return nil, ae
	}
	return resp, nil
}

// Watch streams the holder changes of name (GET /v1/leases/{name}?watch=1)
// and calls fn with each, until ctx ends, the stream ends, or fn returns
// false. Every change is a hint (R14).
func (c *Client) Watch(ctx context.Context, name string, fn func(HolderHint) bool) error {
	resp, err := c.do(ctx, http.MethodGet, "/v1/leases/"+pathName(name)+"?watch=1", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var h HolderHint
		if err := dec.Decode(&h); err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return ctx.Err()
			}
			return fmt.Errorf("agent: bad watch stream: %w", err)
		}
		if !fn(h) {
			return nil
		}
	}
}

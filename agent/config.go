package agent

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenure-dev/tenure/node"
	"github.com/tenure-dev/tenure/protocol"
)

// Limits of the HTTP API.
const (
	// MaxBodyBytes is the largest request body accepted (HTTP 413 above).
	MaxBodyBytes = 64 << 10
	// DefaultMaxWait is the longest "wait" an acquire may ask for when
	// Config.MaxWait is zero.
	DefaultMaxWait = time.Hour
	// MinTTL is the shortest TTL a client may ask for (the protocol's).
	MinTTL = protocol.DefaultMinTTL
	// DefaultReadTimeout is Config.ReadTimeout when zero.
	DefaultReadTimeout = 10 * time.Second
	// DefaultIdleTimeout is Config.IdleTimeout when zero.
	DefaultIdleTimeout = time.Minute
	// DefaultMaxConns is Config.MaxConns when zero.
	DefaultMaxConns = 1024
	// DefaultMaxWatches is Config.MaxWatches when zero.
	DefaultMaxWatches = 1024
	// DefaultMaxHolds is Config.MaxHolds when zero.
	DefaultMaxHolds = 1024
)

// Config configures an Agent.
type Config struct {
	// Node is the node the agent serves. Required. The agent never shuts
	// it down: its owner calls Close, then node.Leave. The voter list
	// (for the members and quorum report), the TTL of an acquire that
	// names none and the longest TTL a client may ask for are the node's
	// (node.Node.Voters, DefaultTTL, MaxTTL).
	Node *node.Node
	// MaxWait bounds an acquire's "wait". Default DefaultMaxWait.
	MaxWait time.Duration
	// Token, if not empty, is the bearer token every call but /healthz
	// must send. Empty serves without authentication, trusting every
	// local process: only safe on a loopback address of a single-user
	// host. Without a token the agent also refuses what a web browser
	// sends (see the package documentation, "Security").
	Token string
	// ReadTimeout bounds how long a client may take to send a request's
	// headers (Server's ReadHeaderTimeout) and, again, its body (a read
	// deadline set per request, lifted once the body is read, so that
	// hold and watch streams last as long as they need). A body not
	// received in time gets 408 and the connection is closed. Default
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that has sent no new
	// request for this long. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxConns caps the connections a Listener holds open at once; more
	// are answered 503 and closed at once. Default DefaultMaxConns.
	MaxConns int
	// MaxWatches caps the watch streams (GET ?watch=1) served at once;
	// more get 503. Default DefaultMaxWatches.
	MaxWatches int
	// MaxHolds caps the hold-mode acquires (waiting or streaming) served
	// at once; more get 503. Default DefaultMaxHolds.
	MaxHolds int
	// Logger receives the agent's logs. nil discards them.
	Logger *slog.Logger
	// Registry receives the agent's metrics; nil makes a registry of its
	// own. /metrics serves this registry.
	Registry *prometheus.Registry
}

// withDefaults fills defaults in and validates c; errors wrap ErrConfig
// and name the field.
func (c Config) withDefaults() (Config, error) {
	if c.Node == nil {
		return c, fmt.Errorf("%w: Node is nil", ErrConfig)
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxWatches == 0 {
		c.MaxWatches = DefaultMaxWatches
	}
	if c.MaxHolds == 0 {
		c.MaxHolds = DefaultMaxHolds
	}
	switch {
	case c.MaxWait < 0:
		return c, fmt.Errorf("%w: MaxWait %v is negative", ErrConfig, c.MaxWait)
	case c.ReadTimeout < 0:
		return c, fmt.Errorf("%w: ReadTimeout %v is negative", ErrConfig, c.ReadTimeout)
	case c.IdleTimeout < 0:
		return c, fmt.Errorf("%w: IdleTimeout %v is negative", ErrConfig, c.IdleTimeout)
	case c.MaxConns < 0:
		return c, fmt.Errorf("%w: MaxConns %d is negative", ErrConfig, c.MaxConns)
	case c.MaxWatches < 0:
		return c, fmt.Errorf("%w: MaxWatches %d is negative", ErrConfig, c.MaxWatches)
	case c.MaxHolds < 0:
		return c, fmt.Errorf("%w: MaxHolds %d is negative", ErrConfig, c.MaxHolds)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c, nil
}

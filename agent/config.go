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
)

// Config configures an Agent.
type Config struct {
	// Node is the node the agent serves. Required. The agent never shuts
	// it down: its owner calls Close, then node.Leave.
	Node *node.Node
	// Voters is the node's voter list (node.Config.Voters), for the
	// members and quorum report. Required.
	Voters []string
	// DefaultTTL is the TTL of an acquire that names none; it should equal
	// node.Config.DefaultTTL. Default node.DefaultTTL.
	DefaultTTL time.Duration
	// MaxTTL is the longest TTL a client may ask for; it must equal
	// node.Config.MaxTTL. Default node.DefaultMaxTTL.
	MaxTTL time.Duration
	// MaxWait bounds an acquire's "wait". Default DefaultMaxWait.
	MaxWait time.Duration
	// Token, if not empty, is the bearer token every call but /healthz
	// must send. Empty serves without authentication: only safe on a
	// loopback address of a single-user host.
	Token string
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
	if len(c.Voters) == 0 {
		return c, fmt.Errorf("%w: Voters is empty", ErrConfig)
	}
	c.Voters = append([]string(nil), c.Voters...)
	if c.DefaultTTL == 0 {
		c.DefaultTTL = node.DefaultTTL
	}
	if c.MaxTTL == 0 {
		c.MaxTTL = node.DefaultMaxTTL
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	switch {
	case c.MaxTTL < MinTTL:
		return c, fmt.Errorf("%w: MaxTTL %v below the minimum TTL %v", ErrConfig, c.MaxTTL, MinTTL)
	case c.DefaultTTL < MinTTL || c.DefaultTTL > c.MaxTTL:
		return c, fmt.Errorf("%w: DefaultTTL %v outside [%v, MaxTTL %v]", ErrConfig, c.DefaultTTL, MinTTL, c.MaxTTL)
	case c.MaxWait < 0:
		return c, fmt.Errorf("%w: MaxWait %v is negative", ErrConfig, c.MaxWait)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c, nil
}

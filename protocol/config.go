package protocol

import (
	"fmt"
	"math"
	"math/big"
	"time"
	"unicode/utf8"

	"github.com/tenure-dev/tenure/internal/leasename"
	"github.com/tenure-dev/tenure/quorum"
)

// Limits on what a request or a datagram may carry.
const (
	// MaxNameLen is the longest lease name, in bytes.
	MaxNameLen = leasename.MaxLen
	// MaxValueLen is the longest lease value, in bytes. A Propose carrying a
	// full name and value still fits one datagram.
	MaxValueLen = 512
	// MaxNodeNameLen is the longest node name, in bytes.
	MaxNodeNameLen = 128
)

// Defaults: Config.Validate fills each into the matching zero field of a
// Config.
const (
	// DefaultMaxDrift is the assumed clock-rate error ε: 1e-3 (1000 ppm),
	// ten times a typical quartz oscillator and twice NTP's maximum slew.
	DefaultMaxDrift = 1e-3
	// DefaultTTL is the lease TTL when a request names none.
	DefaultTTL = 2 * time.Second
	// DefaultMinTTL is the shortest TTL a request may ask for.
	DefaultMinTTL = 50 * time.Millisecond
	// DefaultMaxTTL is the longest TTL a request may ask for. It bounds the
	// quarantine of a crashed voter (R9).
	DefaultMaxTTL = 30 * time.Second
	// DefaultRetryInterval is how long a proposer waits for an answer before
	// it sends a request again to the voters that have not answered.
	DefaultRetryInterval = 20 * time.Millisecond
	// DefaultBackoffMin and DefaultBackoffMax bound the randomized backoff
	// after a round lost to contention (doubling from min up to max).
	DefaultBackoffMin = 2 * time.Millisecond
	// DefaultBackoffMax is the ceiling of the contention backoff.
	DefaultBackoffMax = 200 * time.Millisecond
)

// Config configures one node's machine. The zero value of every duration and
// of MaxDrift means "the default"; Validate fills them in.
type Config struct {
	// Self is this node's unique name (at most MaxNodeNameLen bytes).
	// Required.
	Self string
	// Cluster is the cluster ID (at most MaxClusterLen bytes; may be
	// empty). With the voter list it forms the Identity every datagram
	// carries; datagrams of another identity are refused (R17).
	Cluster string
	// Voters are the acceptor names: a fixed list (R1). Required. Self may or
	// may not be among them.
	Voters []string
	// MaxDrift is ε, the largest clock-rate error assumed for every node:
	// local elapsed time is within [1-ε, 1+ε] of real elapsed time. Default
	// DefaultMaxDrift. Must be in [0, 0.1). Setting it below the clocks'
	// real drift breaks containment (R8).
	MaxDrift float64
	// DefaultTTL is the TTL (T, the acceptors' exclusion D_A) of a request
	// that names none. Default DefaultTTL. Must lie in [MinTTL, MaxTTL].
	DefaultTTL time.Duration
	// MinTTL is the shortest TTL accepted. Default DefaultMinTTL. It must
	// leave a positive attempt duration D_P (R8) after the margin.
	MinTTL time.Duration
	// MaxTTL is the longest TTL accepted, by this node's proposer and by its
	// acceptor. Default DefaultMaxTTL. Every node of a cluster must use the
	// same MaxTTL: it sets the quarantine (R9).
	MaxTTL time.Duration
	// Margin is m, how long before its deadline a holder stops acting (R8).
	// Zero means TTL/100 for each lease. It must be smaller than the attempt
	// duration of MinTTL.
	Margin time.Duration
	// RetryInterval is how long the proposer waits for answers before it
	// resends to the voters that have not answered. Default
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// BackoffMin and BackoffMax bound the randomized, doubling backoff after
	// a round lost to contention. Defaults DefaultBackoffMin and
	// DefaultBackoffMax; BackoffMin <= BackoffMax.
	BackoffMin, BackoffMax time.Duration
	// Quarantine is Q, how long a node that may have forgotten promises
	// ignores Prepare, Propose and Release after it starts (R9). Zero means
	// the smallest safe value, QuarantineFor(MaxTTL); a smaller non-zero
	// value is refused unless Unsafe is set.
	Quarantine time.Duration
	// TwoPhaseAcquire makes every acquire attempt start with a Prepare. By
	// default a request's first attempt is one round trip: a Propose
	// marked OneRound, which the voters accept only above their promise and
	// with no lease in the way (oneround.go, DESIGN.md "One-round
	// acquire"); it falls back to two phases on a blocked or contended
	// name.
	TwoPhaseAcquire bool
	// Unsafe lets Validate accept a Quarantine shorter than the safe value.
	// Only the simulator sets it, to show what that misconfiguration breaks.
	Unsafe bool
	// Weaken switches on deliberately broken rules. It can be set only in
	// builds with the "mutants" tag; production builds carry no weakening.
	Weaken Weakenings
}

// Validate fills defaults into c and refuses unsafe or meaningless settings
// with an error that wraps ErrConfig and names the field.
func (c *Config) Validate() error {
	if c.Self == "" {
		return fmt.Errorf("%w: Self is empty", ErrConfig)
	}
	if len(c.Self) > MaxNodeNameLen || !utf8.ValidString(c.Self) {
		return fmt.Errorf("%w: Self %q is longer than %d bytes or not UTF-8", ErrConfig, c.Self, MaxNodeNameLen)
	}
	if len(c.Cluster) > MaxClusterLen || !utf8.ValidString(c.Cluster) {
		return fmt.Errorf("%w: Cluster %q is longer than %d bytes or not UTF-8", ErrConfig, c.Cluster, MaxClusterLen)
	}
	if _, err := quorum.NewSet(c.Voters); err != nil {
		return fmt.Errorf("%w: Voters: %w", ErrConfig, err)
	}
	for _, v := range c.Voters {
		if len(v) > MaxNodeNameLen {
			return fmt.Errorf("%w: Voters: name %q longer than %d bytes", ErrConfig, v, MaxNodeNameLen)
		}
	}
	if c.MaxDrift == 0 {
		c.MaxDrift = DefaultMaxDrift
	}
	if !(c.MaxDrift >= 0 && c.MaxDrift < 0.1) || math.IsNaN(c.MaxDrift) {
		return fmt.Errorf("%w: MaxDrift %v outside [0, 0.1)", ErrConfig, c.MaxDrift)
	}
	def := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.DefaultTTL, DefaultTTL)
	def(&c.MinTTL, DefaultMinTTL)
	def(&c.MaxTTL, DefaultMaxTTL)
	def(&c.RetryInterval, DefaultRetryInterval)
	def(&c.BackoffMin, DefaultBackoffMin)
	def(&c.BackoffMax, DefaultBackoffMax)
	switch {
	case c.MinTTL <= 0:
		return fmt.Errorf("%w: MinTTL %v must be positive", ErrConfig, c.MinTTL)
	case c.MaxTTL < c.MinTTL:
		return fmt.Errorf("%w: MaxTTL %v below MinTTL %v", ErrConfig, c.MaxTTL, c.MinTTL)
	case c.MaxTTL > 24*time.Hour:
		return fmt.Errorf("%w: MaxTTL %v above 24h", ErrConfig, c.MaxTTL)
	case c.DefaultTTL < c.MinTTL || c.DefaultTTL > c.MaxTTL:
		return fmt.Errorf("%w: DefaultTTL %v outside [MinTTL %v, MaxTTL %v]", ErrConfig, c.DefaultTTL, c.MinTTL, c.MaxTTL)
	case c.Margin < 0:
		return fmt.Errorf("%w: Margin %v is negative", ErrConfig, c.Margin)
	case c.RetryInterval <= 0:
		return fmt.Errorf("%w: RetryInterval %v must be positive", ErrConfig, c.RetryInterval)
	case c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("%w: BackoffMin %v / BackoffMax %v: need 0 < min <= max", ErrConfig, c.BackoffMin, c.BackoffMax)
	case c.Quarantine < 0:
		return fmt.Errorf("%w: Quarantine %v is negative", ErrConfig, c.Quarantine)
	}
	// R8: the shortest lease must leave a usable attempt after the margin.
	if dp := c.AttemptDuration(c.MinTTL); dp <= c.margin(c.MinTTL) {
		return fmt.Errorf("%w: MinTTL %v with MaxDrift %v and Margin %v leaves no usable attempt duration (D_P=%v); raise MinTTL or lower Margin",
			ErrConfig, c.MinTTL, c.MaxDrift, c.margin(c.MinTTL), dp)
	}
	safeQ := c.QuarantineFor(c.MaxTTL)
	if c.Quarantine == 0 {
		c.Quarantine = safeQ
	} else if c.Quarantine < safeQ && !c.Unsafe {
		return fmt.Errorf("%w: Quarantine %v shorter than the safe %v for MaxTTL %v and MaxDrift %v (R9)",
			ErrConfig, c.Quarantine, safeQ, c.MaxTTL, c.MaxDrift)
	}
	return nil
}

// margin is m for a lease of the given TTL.
func (c *Config) margin(ttl time.Duration) time.Duration {
	if c.Margin > 0 {
		return c.Margin
	}
	return ttl / 100
}

// MarginFor is m for a lease of the given TTL: Margin if set, else TTL/100.
// A holder stops acting this long before its deadline (R8).
func (c *Config) MarginFor(ttl time.Duration) time.Duration { return c.margin(ttl) }

// AttemptDuration is D_P for a lease of TTL T: the largest duration with
// (D_P + m)/(1-ε) <= T/(1+ε) (R8), rounded down to a nanosecond. It can be
// zero or negative for a TTL too short for the margin; Validate refuses such
// a MinTTL.
func (c *Config) AttemptDuration(ttl time.Duration) time.Duration {
	eps := c.MaxDrift
	bound := math.Floor(float64(ttl) * (1 - eps) / (1 + eps))
	dp := time.Duration(bound) - c.margin(ttl)
	// Float rounding must never make D_P one nanosecond too long.
	for dp > 0 && !containmentHolds(dp, c.margin(ttl), ttl, eps) {
		dp--
	}
	return dp
}

// containmentHolds checks R8 for one set of values.
func containmentHolds(dp, m, ttl time.Duration, eps float64) bool {
	e := new(big.Rat).SetFloat64(eps)
	one := big.NewRat(1, 1)
	l := new(big.Rat).Mul(new(big.Rat).SetInt64(int64(dp+m)), new(big.Rat).Add(one, e))
	r := new(big.Rat).Mul(new(big.Rat).SetInt64(int64(ttl)), new(big.Rat).Sub(one, e))
	return l.Cmp(r) <= 0
}

// QuarantineFor is the smallest safe quarantine for leases up to maxTTL:
// Q/(1+ε) >= D_P/(1-ε) for the longest D_P in use (R9), rounded up.
func (c *Config) QuarantineFor(maxTTL time.Duration) time.Duration {
	eps := c.MaxDrift
	// The longest D_P of any node, whatever its Margin (R9).
	dp := time.Duration(math.Floor(float64(maxTTL) * (1 - eps) / (1 + eps)))
	return time.Duration(math.Ceil(float64(dp)*(1+eps)/(1-eps))) + 1
}

// ExclusionQuarantine is the quarantine that covers an exclusion of x
// (a TTL plus a lock delay) granted by this voter before it restarted
// (R19): the exclusion lasts at most x/(1-ε) of real time after its
// receipt, and a quarantine of Q on the new clock at least Q/(1+ε), so
// Q = x·(1+ε)/(1-ε), rounded up.
func (c *Config) ExclusionQuarantine(x time.Duration) time.Duration {
	if x <= 0 {
		return 0
	}
	eps := c.MaxDrift
	return time.Duration(math.Ceil(float64(x)*(1+eps)/(1-eps))) + 1
}

// checkName validates a lease name: non-empty, at most MaxNameLen bytes,
// valid UTF-8 with no control characters. The rules are those of package
// internal/leasename, which the fence package shares.
func checkName(name string) error { return leasename.Check(name, ErrBadName) }

// CheckName reports whether name is a valid lease name (see MaxNameLen).
func CheckName(name string) error { return checkName(name) }

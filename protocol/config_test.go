package protocol

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func validConfig() Config { return Config{Self: "a", Voters: []string{"a", "b", "c"}} }

// R8, R9: Validate refuses unsafe or meaningless settings with an error that
// wraps ErrConfig and names the field.
func TestConfigValidateRefuses(t *testing.T) {
	long := strings.Repeat("n", MaxNodeNameLen+1)
	cases := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"no self", func(c *Config) { c.Self = "" }, "Self"},
		{"self too long", func(c *Config) { c.Self = long }, "Self"},
		{"self not UTF-8", func(c *Config) { c.Self = "\xff" }, "Self"},
		{"no voters", func(c *Config) { c.Voters = nil }, "Voters"},
		{"duplicate voter", func(c *Config) { c.Voters = []string{"a", "b", "a"} }, "Voters"},
		{"voter name too long", func(c *Config) { c.Voters = []string{"a", long} }, "Voters"},
		{"drift 0.1", func(c *Config) { c.MaxDrift = 0.1 }, "MaxDrift"},
		{"negative drift", func(c *Config) { c.MaxDrift = -1e-3 }, "MaxDrift"},
		{"NaN drift", func(c *Config) { c.MaxDrift = math.NaN() }, "MaxDrift"},
		{"infinite drift", func(c *Config) { c.MaxDrift = math.Inf(1) }, "MaxDrift"},
		{"negative MinTTL", func(c *Config) { c.MinTTL = -time.Second }, "MinTTL"},
		{"MaxTTL below MinTTL", func(c *Config) { c.MinTTL, c.MaxTTL = time.Second, 500*time.Millisecond }, "MaxTTL"},
		{"MaxTTL above a day", func(c *Config) { c.MaxTTL = 25 * time.Hour }, "MaxTTL"},
		{"DefaultTTL above MaxTTL", func(c *Config) { c.DefaultTTL = time.Minute }, "DefaultTTL"},
		{"DefaultTTL below MinTTL", func(c *Config) { c.DefaultTTL = time.Millisecond }, "DefaultTTL"},
		{"negative margin", func(c *Config) { c.Margin = -1 }, "Margin"},
		{"margin eats MinTTL", func(c *Config) { c.Margin = 25 * time.Millisecond }, "MinTTL"},
		{"drift eats MinTTL", func(c *Config) { c.MaxDrift = 0.099; c.MinTTL = 20 * time.Millisecond; c.Margin = 9 * time.Millisecond }, "MinTTL"},
		{"negative retry", func(c *Config) { c.RetryInterval = -1 }, "RetryInterval"},
		{"backoff min above max", func(c *Config) { c.BackoffMin, c.BackoffMax = time.Second, time.Millisecond }, "BackoffMin"},
		{"negative quarantine", func(c *Config) { c.Quarantine = -1 }, "Quarantine"},
		// R9: a quarantine shorter than the safe value, without Unsafe.
		{"short quarantine", func(c *Config) { c.Quarantine = time.Second }, "Quarantine"},
		{"quarantine one below safe", func(c *Config) {
			s := validConfig()
			_ = s.Validate()
			c.Quarantine = s.Quarantine - 1
		}, "Quarantine"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := validConfig()
			c.edit(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate() = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("error %q does not name %s", err, c.field)
			}
			if _, err := New(cfg, fresh, rngFor(1), 0); !errors.Is(err, ErrConfig) {
				t.Fatalf("New accepted the config: %v", err)
			}
		})
	}
}

// Validate fills in every default and derives the safe quarantine (R9).
func TestConfigValidateDerives(t *testing.T) {
	cfg := validConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Config{Self: "a", Voters: cfg.Voters, MaxDrift: DefaultMaxDrift, DefaultTTL: DefaultTTL, MinTTL: DefaultMinTTL,
		MaxTTL: DefaultMaxTTL, RetryInterval: DefaultRetryInterval, BackoffMin: DefaultBackoffMin, BackoffMax: DefaultBackoffMax}
	want.Quarantine = want.QuarantineFor(DefaultMaxTTL)
	if cfg.MaxDrift != want.MaxDrift || cfg.DefaultTTL != want.DefaultTTL || cfg.MinTTL != want.MinTTL || cfg.MaxTTL != want.MaxTTL ||
		cfg.RetryInterval != want.RetryInterval || cfg.BackoffMin != want.BackoffMin || cfg.BackoffMax != want.BackoffMax ||
		cfg.Quarantine != want.Quarantine || cfg.Margin != 0 {
		t.Fatalf("Validate filled %+v, want %+v", cfg, want)
	}
	// Validating twice changes nothing.
	again := cfg
	if err := again.Validate(); err != nil || again.Quarantine != cfg.Quarantine {
		t.Fatalf("second Validate: %v, %+v", err, again)
	}
	// A longer quarantine is kept; a shorter one only with Unsafe.
	long := validConfig()
	long.Quarantine = time.Hour
	if err := long.Validate(); err != nil || long.Quarantine != time.Hour {
		t.Fatalf("long quarantine: %v %v", err, long.Quarantine)
	}
	short := validConfig()
	short.Quarantine, short.Unsafe = time.Second, true
	if err := short.Validate(); err != nil || short.Quarantine != time.Second {
		t.Fatalf("R9: Unsafe short quarantine: %v %v", err, short.Quarantine)
	}
	p := newProbe(t, "a", abc, Start{Kind: StartCrashed, Era: 1}, func(c *Config) { c.Quarantine, c.Unsafe = time.Second, true })
	if p.m.QuarantineUntil() != probeStart.Add(time.Second) {
		t.Fatalf("Unsafe quarantine not applied: until %v", p.m.QuarantineUntil())
	}
}

// exact returns f as an exact rational.
func exact(f float64) *big.Rat { return new(big.Rat).SetFloat64(f) }

func ratDur(d time.Duration) *big.Rat { return new(big.Rat).SetInt64(int64(d)) }

// containsExactly checks R8 in exact arithmetic: (dp+m)(1+ε) <= T(1-ε).
func containsExactly(dp, m, ttl time.Duration, eps float64) bool {
	one := big.NewRat(1, 1)
	e := exact(eps)
	l := new(big.Rat).Mul(ratDur(dp+m), new(big.Rat).Add(one, e))
	r := new(big.Rat).Mul(ratDur(ttl), new(big.Rat).Sub(one, e))
	return l.Cmp(r) <= 0
}

// R8: AttemptDuration is the largest D_P with (D_P + m)/(1-ε) <= T/(1+ε),
// checked in exact arithmetic (float rounding must never make it one
// nanosecond too long), for any TTL, ε and margin Validate accepts.
func TestR8AttemptDurationContainment(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := Config{
			MaxDrift: rapid.Float64Range(1e-6, 0.0999).Draw(t, "eps"),
			Margin:   time.Duration(rapid.OneOf(rapid.Just(int64(0)), rapid.Int64Range(1, int64(time.Second))).Draw(t, "margin")),
		}
		if cfg.MaxDrift == 0 {
			cfg.MaxDrift = DefaultMaxDrift
		}
		ttl := time.Duration(rapid.Int64Range(int64(time.Millisecond), int64(24*time.Hour)).Draw(t, "ttl"))
		dp, m := cfg.AttemptDuration(ttl), cfg.margin(ttl)
		if dp <= 0 {
			return // Validate refuses a MinTTL that leaves no attempt
		}
		// At most one nanosecond of float rounding is tolerated here (see
		// TestR8AttemptDurationExact for the exact cases).
		if !containsExactly(dp-1, m, ttl, cfg.MaxDrift) {
			t.Fatalf("R8 broken: D_P=%v m=%v T=%v ε=%v", dp, m, ttl, cfg.MaxDrift)
		}
		// Not needlessly short: a few nanoseconds more would break it.
		if containsExactly(dp+4, m, ttl, cfg.MaxDrift) {
			t.Fatalf("D_P=%v is not the largest: %v also contains (m=%v T=%v ε=%v)", dp, dp+4, m, ttl, cfg.MaxDrift)
		}
	})
}

// R8, exactly: "float rounding must never make D_P one nanosecond too
// long" (AttemptDuration's own promise). These inputs were found by the
// property test above; with them the float check in containmentHolds
// passes while exact arithmetic does not.
func TestR8AttemptDurationExact(t *testing.T) {
	cases := []struct {
		ttl    time.Duration
		eps    float64
		margin time.Duration
	}{
		{24 * time.Hour, 0.000148773193359375, 0},
		{time.Millisecond, 5.551115123125783e-17, 0},
		{2 * time.Second, DefaultMaxDrift, 0},
		{30 * time.Second, DefaultMaxDrift, 0},
		{time.Hour, 0.05, time.Second},
	}
	for _, c := range cases {
		cfg := Config{MaxDrift: c.eps, Margin: c.margin}
		dp, m := cfg.AttemptDuration(c.ttl), cfg.margin(c.ttl)
		if !containsExactly(dp, m, c.ttl, c.eps) {
			t.Errorf("R8: D_P=%v (m=%v, T=%v, ε=%v) breaks (D_P+m)(1+ε) <= T(1-ε) in exact arithmetic", dp, m, c.ttl, c.eps)
		}
	}
}

// R8 at the defaults, as DESIGN.md works it out.
func TestR8Defaults(t *testing.T) {
	cfg := validConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, ttl := range []time.Duration{cfg.MinTTL, cfg.DefaultTTL, cfg.MaxTTL} {
		dp := cfg.AttemptDuration(ttl)
		if dp <= cfg.margin(ttl) || !containsExactly(dp, cfg.margin(ttl), ttl, cfg.MaxDrift) {
			t.Errorf("TTL %v: D_P=%v m=%v", ttl, dp, cfg.margin(ttl))
		}
	}
}

// quarantineCovers checks R9 exactly: Q/(1+ε) >= D_P/(1-ε).
func quarantineCovers(q, dp time.Duration, eps float64) bool {
	one := big.NewRat(1, 1)
	e := exact(eps)
	l := new(big.Rat).Mul(ratDur(q), new(big.Rat).Sub(one, e))
	r := new(big.Rat).Mul(ratDur(dp), new(big.Rat).Add(one, e))
	return l.Cmp(r) >= 0
}

// R9: the derived quarantine outlasts, in real time, the longest attempt
// a proposer of the same configuration can make.
func TestR9QuarantineBound(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := validConfig()
		cfg.MaxDrift = rapid.Float64Range(1e-9, 0.0999).Draw(t, "eps")
		cfg.MaxTTL = time.Duration(rapid.Int64Range(int64(time.Second), int64(24*time.Hour)).Draw(t, "maxTTL"))
		cfg.MinTTL = time.Second
		cfg.DefaultTTL = time.Second
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, ttl := range []time.Duration{cfg.MinTTL, cfg.MaxTTL} {
			if dp := cfg.AttemptDuration(ttl); !quarantineCovers(cfg.Quarantine, dp, cfg.MaxDrift) {
				t.Fatalf("R9 broken: Q=%v D_P(%v)=%v ε=%v", cfg.Quarantine, ttl, dp, cfg.MaxDrift)
			}
		}
	})
}

// R9: the quarantine must cover the longest D_P in use, bounded by the
// cluster-wide MaxTTL. The margin is a per-node setting, so a voter with a
// large Margin must still sit out the attempt of a proposer with a small
// one: Q may depend on MaxTTL and ε only.
func TestR9QuarantineCoversEveryMargin(t *testing.T) {
	for _, vm := range []time.Duration{0, time.Second} {
		voter := validConfig()
		voter.Margin, voter.MinTTL, voter.DefaultTTL = vm, 5*time.Second, 5*time.Second
		if err := voter.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, m := range []time.Duration{0, time.Millisecond, 1} {
			proposer := validConfig()
			proposer.Self, proposer.Margin = "x", m
			if err := proposer.Validate(); err != nil {
				t.Fatal(err)
			}
			if dp := proposer.AttemptDuration(proposer.MaxTTL); !quarantineCovers(voter.Quarantine, dp, voter.MaxDrift) {
				t.Errorf("R9: voter (Margin %v) quarantine %v shorter than D_P %v of a proposer with Margin %v", vm, voter.Quarantine, dp, m)
			}
		}
	}
}

package chaos

import (
	"errors"
	"fmt"
	"time"
)

// Fault kinds, as the nemesis names them in the history and the figures.
const (
	FaultPartition = "partition"
	FaultOneWay    = "partition-oneway"
	FaultLoss      = "loss"
	FaultKill      = "kill"
	FaultKillNoDir = "kill-nodata"
	FaultPause     = "pause"
	FaultRestart   = "restart"
	FaultRegister  = "register-crash"
	// FaultRestartHolder is a SIGTERM restart of an agent through which a
	// client holds a lease with at least half a TTL to go, while another
	// client waits for that lease through another agent (holder.go). The
	// nemesis runs it every third step.
	FaultRestartHolder = "restart-holder"
	// FaultStaleDir restarts a voter from a stale copy of its data dir
	// (stale.go) and expects the restarted voter to sit out the
	// quarantine (R18). The nemesis runs it every sixth step.
	FaultStaleDir = "stale-restart"
	// FaultReconfig changes the voters online while the clients run and
	// puts them back (reconfig.go): alternately a 3 -> 5 -> 3 cycle and a
	// replacement of a voter by a non-voter. The nemesis runs it every
	// sixth step from the third.
	FaultReconfig = "reconfigure"
	// FaultZombie counts the clients' deliberate writes after their own
	// deadline; it is drawn by the clients, not the nemesis.
	FaultZombie = "client-stall"
)

// AllFaults lists the nemesis's fault kinds.
var AllFaults = []string{FaultPartition, FaultOneWay, FaultLoss, FaultKill, FaultKillNoDir, FaultPause, FaultRestart, FaultRegister,
	FaultRestartHolder, FaultStaleDir, FaultReconfig}

// Config configures a Run.
type Config struct {
	// Seed seeds every random choice of the run. Required (0 is a seed).
	Seed int64
	// Duration is how long the nemesis runs. Default 75s.
	Duration time.Duration
	// Binary is the tenure binary, run as `tenure agent`. Required.
	Binary string
	// RegisterBinary is the fenced register, built from
	// ./chaos/cmd/fenced-register: a resource of the harness, not part of
	// the tenure binary. Required.
	RegisterBinary string
	// Dir is the run's directory: data dirs, logs, and on failure the
	// artifacts. Required; Run creates it.
	Dir string
	// Voters and NonVoters are the agent counts. Default 3 and 2.
	Voters, NonVoters int
	// Keys is the number of lease names (= register keys); each agent runs
	// one client per key. Default 2.
	Keys int
	// TTL is the lease TTL the clients ask for. Default 2s.
	TTL time.Duration
	// ZombieRate is the chance that a client, at the end of a tenure,
	// stalls past its deadline and writes anyway. Default 0.05; negative
	// means never.
	ZombieRate float64
	// Faults are the nemesis's fault kinds; nil means AllFaults.
	Faults []string
	// UnsafeNoFence runs the register with its fence off: the broken build
	// the checks must catch.
	UnsafeNoFence bool
	// Launcher starts agents; nil means BinaryLauncher for Binary.
	Launcher Launcher
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// withDefaults fills in defaults and checks c; errors name the field.
func (c Config) withDefaults() (Config, error) {
	if c.Duration == 0 {
		c.Duration = 75 * time.Second
	}
	if c.Voters == 0 {
		c.Voters = 3
	}
	if c.NonVoters == 0 {
		c.NonVoters = 2
	}
	if c.Keys == 0 {
		c.Keys = 2
	}
	if c.TTL == 0 {
		c.TTL = 2 * time.Second
	}
	if c.ZombieRate == 0 {
		c.ZombieRate = 0.05
	}
	if c.Faults == nil {
		c.Faults = AllFaults
	}
	if c.Launcher == nil {
		c.Launcher = BinaryLauncher{Binary: c.Binary}
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	switch {
	case c.Binary == "":
		return c, errors.New("chaos: Config.Binary is empty")
	case c.RegisterBinary == "":
		return c, errors.New("chaos: Config.RegisterBinary is empty (go build ./chaos/cmd/fenced-register)")
	case c.Dir == "":
		return c, errors.New("chaos: Config.Dir is empty")
	case c.Duration < 0:
		return c, fmt.Errorf("chaos: Config.Duration %v is negative", c.Duration)
	case c.Voters < 1 || c.NonVoters < 0 || c.Voters+c.NonVoters > 20:
		return c, fmt.Errorf("chaos: Config.Voters %d / NonVoters %d out of range", c.Voters, c.NonVoters)
	case c.Keys < 1 || c.Keys > 8:
		return c, fmt.Errorf("chaos: Config.Keys %d out of range 1..8", c.Keys)
	case c.TTL < 500*time.Millisecond:
		return c, fmt.Errorf("chaos: Config.TTL %v below 500ms", c.TTL)
	}
	for _, f := range c.Faults {
		if !isFault(f) {
			return c, fmt.Errorf("chaos: Config.Faults: unknown kind %q", f)
		}
	}
	return c, nil
}

func isFault(f string) bool {
	for _, k := range AllFaults {
		if k == f {
			return true
		}
	}
	return false
}

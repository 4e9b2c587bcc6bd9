package protocol

// The weakenings of voter reconfiguration (R21-R25). They live apart from
// the others (from 32 on, so that the two lists grow independently) and
// are not in AllWeakenings: the simulator, not a single machine, is what
// catches them (sim/reconfig_mutants_test.go); ReconfigWeakenings lists
// them.
const (
	// WeakJointNewOnly decides votes of a joint configuration by the new
	// voters' majority alone (breaks R22).
	WeakJointNewOnly Weakening = 32 + iota
	// WeakJointOldOnly decides them by the old voters' majority alone
	// (breaks R22).
	WeakJointOldOnly
	// WeakAdoptUncommitted adopts a configuration when the voter accepts
	// it in the slot, before a quorum has (breaks R21, R22).
	WeakAdoptUncommitted
	// WeakNoRetireWait leaves the joint configuration without the wait W
	// (breaks R23).
	WeakNoRetireWait
	// WeakRetireWaitFromConfig sizes W from this node's configured MaxTTL
	// only, ignoring the bounds the old voters persisted (breaks R23 the
	// way WeakQuarantineFromConfig breaks R19).
	WeakRetireWaitFromConfig
	// WeakNoConfigPrepare proposes a configuration without phase one of
	// the slot, from the local view (breaks R22: two initiators choose
	// two configurations for one epoch).
	WeakNoConfigPrepare
	// WeakEpochInMemory forgets the configuration record at every start
	// (breaks R21: a restarted voter reverts to the configured voters).
	WeakEpochInMemory
	// WeakIgnoreEpoch leaves the epoch out of the identity: lease messages
	// of any epoch are handled, and no peer is told that it is behind
	// (breaks R21: a voter answers, and a proposer counts, messages of
	// another configuration).
	WeakIgnoreEpoch
	// WeakNoMinEra gives the configuration that leaves a joint one no
	// MinEra (breaks R24: tokens fall after a replacement).
	WeakNoMinEra
	// WeakAckForgetsQuarantine leaves a quarantined voter's quarantine out
	// of the longest exclusion it reports when it acknowledges a joint
	// configuration (breaks R23: a voter that crashed forgot the leases it
	// accepted, and W no longer covers them).
	WeakAckForgetsQuarantine
	// WeakCfgVoteUnverified lets a start answer configuration-slot
	// messages while the check of its start (R18) is under way (breaks
	// R21: voters restored from copies of an old configuration choose a
	// second configuration for an epoch before they hear the newer one).
	WeakCfgVoteUnverified
	// WeakNewVoterUnchecked opens a node that an adopted configuration
	// makes a voter without checking its start (breaks R18 with R21: an
	// added voter on an empty dir started as a new cluster votes with no
	// memory of what it accepted before).
	WeakNewVoterUnchecked
	reconfigWeakeningsEnd
)

// ReconfigWeakenings lists the weakenings of voter reconfiguration.
func ReconfigWeakenings() []Weakening {
	var out []Weakening
	for w := WeakJointNewOnly; w < reconfigWeakeningsEnd; w++ {
		out = append(out, w)
	}
	return out
}

// reconfigWeakeningName names a reconfiguration weakening by the rule it
// breaks; "invalid" for any other value.
func reconfigWeakeningName(w Weakening) string {
	switch w {
	case WeakJointNewOnly:
		return "R22-joint-new-only"
	case WeakJointOldOnly:
		return "R22-joint-old-only"
	case WeakAdoptUncommitted:
		return "R21-adopt-uncommitted"
	case WeakNoRetireWait:
		return "R23-no-retire-wait"
	case WeakRetireWaitFromConfig:
		return "R23-wait-from-config"
	case WeakNoConfigPrepare:
		return "R22-no-config-prepare"
	case WeakEpochInMemory:
		return "R21-epoch-in-memory"
	case WeakIgnoreEpoch:
		return "R21-ignore-epoch"
	case WeakNoMinEra:
		return "R24-no-min-era"
	case WeakAckForgetsQuarantine:
		return "R23-ack-forgets-quarantine"
	case WeakCfgVoteUnverified:
		return "R21-cfg-vote-unverified"
	case WeakNewVoterUnchecked:
		return "R18-new-voter-unchecked"
	}
	return "invalid"
}

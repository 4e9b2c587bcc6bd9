package protocol

import (
	"errors"
	"fmt"
	"time"

	"github.com/tenure-dev/tenure/quorum"
	"github.com/vmihailenco/msgpack/v5"
)

// The messages of voter reconfiguration (R21-R25). Slot is the epoch the
// Paxos slot chooses a configuration for: the sender's adopted epoch + 1.
// None is about a lease name. Unlike lease messages, they are handled
// whatever epoch the datagram's header carries (Machine.Deliver): they
// carry their own epochs.

// CfgPrepare is phase one of choosing the configuration of epoch Slot.
type CfgPrepare struct {
	Slot    uint64
	Ballot  Ballot
	Attempt uint64
}

// CfgPromise answers a CfgPrepare: the voter promised Ballot's slot to it.
// Accepted and Value are what it accepted in the slot (Value nil if
// nothing); Era and Bounds are its era floor and its persisted bounds,
// from which the proposer computes MinEra (R24) and the wait W (R23).
type CfgPromise struct {
	Slot     uint64
	Attempt  uint64
	Accepted Ballot
	Value    *Membership
	Era      uint32
	Bounds   Bounds
}

// CfgReject refuses a CfgPrepare or CfgPropose below the voter's promise.
type CfgReject struct {
	Slot     uint64
	Attempt  uint64
	Promised Ballot
}

// CfgPropose is phase two: "accept Value for epoch Slot under Ballot".
type CfgPropose struct {
	Slot    uint64
	Ballot  Ballot
	Attempt uint64
	Value   Membership
}

// CfgAccepted answers a CfgPropose the voter accepted (and made durable).
type CfgAccepted struct {
	Slot    uint64
	Attempt uint64
}

// Install carries a committed configuration: one a quorum of the
// configuration before it accepted (R22). A node at an older epoch adopts
// it; every node answers with InstallAck. A node also sends it, unasked,
// to a peer whose datagram carried an older epoch (the "stale
// configuration" answer): that peer's lease messages are not handled.
type Install struct {
	Config Membership
}

// InstallAck says the sender has adopted Epoch (or a later one) durably;
// Era and Bounds are as in CfgPromise. Remaining is, on the sender's
// clock when it answered, how long the longest exclusion it keeps may
// still last: its live leases (lock delays included) and, while it sits
// out a quarantine, the rest of the quarantine, which covers everything it
// may have forgotten (R9, R19). The wait W is sized from it (R23).
type InstallAck struct {
	Epoch     uint64
	Era       uint32
	Bounds    Bounds
	Remaining time.Duration
}

// ConfigAsk asks a peer whose datagram carried a newer epoch for its
// configuration; Epoch is the asker's.
type ConfigAsk struct {
	Epoch uint64
}

// Type implements Message.
func (*CfgPrepare) Type() MsgType { return TypeCfgPrepare }

// Type implements Message.
func (*CfgPromise) Type() MsgType { return TypeCfgPromise }

// Type implements Message.
func (*CfgReject) Type() MsgType { return TypeCfgReject }

// Type implements Message.
func (*CfgPropose) Type() MsgType { return TypeCfgPropose }

// Type implements Message.
func (*CfgAccepted) Type() MsgType { return TypeCfgAccepted }

// Type implements Message.
func (*Install) Type() MsgType { return TypeInstall }

// Type implements Message.
func (*InstallAck) Type() MsgType { return TypeInstallAck }

// Type implements Message.
func (*ConfigAsk) Type() MsgType { return TypeConfigAsk }

// Lease implements Message: about no lease.
func (*CfgPrepare) Lease() string { return "" }

// Lease implements Message: about no lease.
func (*CfgPromise) Lease() string { return "" }

// Lease implements Message: about no lease.
func (*CfgReject) Lease() string { return "" }

// Lease implements Message: about no lease.
func (*CfgPropose) Lease() string { return "" }

// Lease implements Message: about no lease.
func (*CfgAccepted) Lease() string { return "" }

// Lease implements Message: about no lease.
func (*Install) Lease() string { return "" }

// Lease implements Message: about no lease.
func (*InstallAck) Lease() string { return "" }

// Lease implements Message: about no lease.
func (*ConfigAsk) Lease() string { return "" }

// configMsg reports whether msg belongs to reconfiguration (or to the
// incarnation check): handled whatever the header's epoch.
func configMsg(msg Message) bool {
	switch msg.(type) {
	case *CfgPrepare, *CfgPromise, *CfgReject, *CfgPropose, *CfgAccepted, *Install, *InstallAck, *ConfigAsk,
		*Hello, *HelloReply:
		return true
	}
	return false
}

// Wire encoding. A Membership is four fields: epoch, the voters as an
// array, the next voters as an array (empty when simple) and MinEra; an
// optional one is preceded by a bool. Bounds are two durations.

const (
	membershipFields = 4
	boundsFields     = 2
)

func encodeMembership(enc *msgpack.Encoder, k Membership) error {
	errs := []error{enc.EncodeUint(k.Epoch), enc.EncodeArrayLen(len(k.Voters))}
	for _, v := range k.Voters {
		errs = append(errs, enc.EncodeString(v))
	}
	errs = append(errs, enc.EncodeArrayLen(len(k.Next)))
	for _, v := range k.Next {
		errs = append(errs, enc.EncodeString(v))
	}
	errs = append(errs, enc.EncodeUint32(k.MinEra))
	return errors.Join(errs...)
}

func encodeBounds(enc *msgpack.Encoder, b Bounds) error {
	return errors.Join(enc.EncodeInt(int64(b.MaxTTL)), enc.EncodeInt(int64(b.MaxExclusion)))
}

// encodeConfigFields writes the fields of a reconfiguration message; ok
// is false for any other message.
func encodeConfigFields(enc *msgpack.Encoder, m Message) (ok bool, err error) {
	switch m := m.(type) {
	case *CfgPrepare:
		return true, errors.Join(enc.EncodeArrayLen(4), enc.EncodeUint(m.Slot), encodeBallot(enc, m.Ballot), enc.EncodeUint(m.Attempt))
	case *CfgPromise:
		errs := []error{enc.EncodeArrayLen(2 + 3 + 1 + membershipFields + 1 + boundsFields),
			enc.EncodeUint(m.Slot), enc.EncodeUint(m.Attempt), encodeBallot(enc, m.Accepted), enc.EncodeBool(m.Value != nil)}
		var v Membership
		if m.Value != nil {
			v = *m.Value
		}
		errs = append(errs, encodeMembership(enc, v), enc.EncodeUint32(m.Era), encodeBounds(enc, m.Bounds))
		return true, errors.Join(errs...)
	case *CfgReject:
		return true, errors.Join(enc.EncodeArrayLen(5), enc.EncodeUint(m.Slot), enc.EncodeUint(m.Attempt), encodeBallot(enc, m.Promised))
	case *CfgPropose:
		return true, errors.Join(enc.EncodeArrayLen(5+membershipFields), enc.EncodeUint(m.Slot), encodeBallot(enc, m.Ballot),
			enc.EncodeUint(m.Attempt), encodeMembership(enc, m.Value))
	case *CfgAccepted:
		return true, errors.Join(enc.EncodeArrayLen(2), enc.EncodeUint(m.Slot), enc.EncodeUint(m.Attempt))
	case *Install:
		return true, errors.Join(enc.EncodeArrayLen(membershipFields), encodeMembership(enc, m.Config))
	case *InstallAck:
		return true, errors.Join(enc.EncodeArrayLen(3+boundsFields), enc.EncodeUint(m.Epoch), enc.EncodeUint32(m.Era), encodeBounds(enc, m.Bounds),
			enc.EncodeInt(int64(m.Remaining)))
	case *ConfigAsk:
		return true, errors.Join(enc.EncodeArrayLen(1), enc.EncodeUint(m.Epoch))
	}
	return false, nil
}

// configFieldCount is how many fields each reconfiguration message needs.
var configFieldCount = map[MsgType]int{
	TypeCfgPrepare:  4,
	TypeCfgPromise:  2 + 3 + 1 + membershipFields + 1 + boundsFields,
	TypeCfgReject:   5,
	TypeCfgPropose:  5 + membershipFields,
	TypeCfgAccepted: 2,
	TypeInstall:     membershipFields,
	TypeInstallAck:  3 + boundsFields,
	TypeConfigAsk:   1,
}

// voterNames reads an array of at most quorum.MaxVoters node names.
func (d *Decoder) voterNames() ([]string, error) {
	n, err := d.dec.DecodeArrayLen()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > quorum.MaxVoters || n > d.r.Len() {
		return nil, fmt.Errorf("voter list of %d names", n)
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]string, n)
	for i := range out {
		if out[i], err = d.str(MaxNodeNameLen); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *Decoder) membership() (k Membership, err error) {
	if k.Epoch, err = d.u64(); err != nil {
		return k, err
	}
	if k.Voters, err = d.voterNames(); err != nil {
		return k, err
	}
	if k.Next, err = d.voterNames(); err != nil {
		return k, err
	}
	k.MinEra, err = d.u32()
	return k, err
}

// checkedMembership reads a configuration and checks it is well formed.
func (d *Decoder) checkedMembership() (Membership, error) {
	k, err := d.membership()
	if err != nil {
		return k, err
	}
	return k, k.Validate()
}

func (d *Decoder) bounds() (b Bounds, err error) {
	if b.MaxTTL, err = d.dur(true); err != nil {
		return b, err
	}
	b.MaxExclusion, err = d.dur(true)
	return b, err
}

// decodeConfig reads the fields of reconfiguration message type t; ok is
// false for any other type.
func (d *Decoder) decodeConfig(t MsgType) (m Message, ok bool, err error) {
	var errs [6]error
	switch t {
	case TypeCfgPrepare:
		p := &CfgPrepare{}
		p.Slot, errs[0] = d.u64()
		p.Ballot, errs[1] = d.ballot()
		p.Attempt, errs[2] = d.u64()
		m = p
	case TypeCfgPromise:
		p := &CfgPromise{}
		p.Slot, errs[0] = d.u64()
		p.Attempt, errs[1] = d.u64()
		p.Accepted, errs[2] = d.ballot()
		var has bool
		if has, errs[3] = d.dec.DecodeBool(); errs[3] == nil {
			var v Membership
			if has {
				v, errs[4] = d.checkedMembership()
				p.Value = &v
			} else {
				_, errs[4] = d.membership()
			}
		}
		if errs[4] == nil {
			p.Era, errs[5] = d.u32()
			if errs[5] == nil {
				p.Bounds, errs[5] = d.bounds()
			}
		}
		m = p
	case TypeCfgReject:
		p := &CfgReject{}
		p.Slot, errs[0] = d.u64()
		p.Attempt, errs[1] = d.u64()
		p.Promised, errs[2] = d.ballot()
		m = p
	case TypeCfgPropose:
		p := &CfgPropose{}
		p.Slot, errs[0] = d.u64()
		p.Ballot, errs[1] = d.ballot()
		p.Attempt, errs[2] = d.u64()
		p.Value, errs[3] = d.checkedMembership()
		m = p
	case TypeCfgAccepted:
		p := &CfgAccepted{}
		p.Slot, errs[0] = d.u64()
		p.Attempt, errs[1] = d.u64()
		m = p
	case TypeInstall:
		p := &Install{}
		p.Config, errs[0] = d.checkedMembership()
		m = p
	case TypeInstallAck:
		p := &InstallAck{}
		p.Epoch, errs[0] = d.u64()
		p.Era, errs[1] = d.u32()
		p.Bounds, errs[2] = d.bounds()
		if errs[2] == nil {
			p.Remaining, errs[3] = d.dur(true)
		}
		m = p
	case TypeConfigAsk:
		p := &ConfigAsk{}
		p.Epoch, errs[0] = d.u64()
		m = p
	default:
		return nil, false, nil
	}
	for _, e := range errs {
		if e != nil {
			return nil, true, e
		}
	}
	return m, true, nil
}

// waitFor is the wait W (R23) that covers bounds b: every attempt
// duration up to b.MaxTTL and every exclusion up to b.MaxExclusion, each
// granted before the wait began, on a clock running within the drift.
func (c *Config) waitFor(b Bounds) time.Duration {
	return max(c.QuarantineFor(b.MaxTTL), c.ExclusionQuarantine(b.MaxExclusion))
}

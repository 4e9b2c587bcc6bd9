package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/tenure-dev/tenure/quorum"
	"github.com/vmihailenco/msgpack/v5"
)

// Membership is one voter configuration of the cluster (R21): its epoch,
// its voters, and while a change is under way the voters it moves to.
// Epoch 0 is the list of Config.Voters, which a cluster runs until its
// first change and never needs to persist; every later epoch is chosen by
// the Paxos slot of the epoch before (R22) and made durable on every node
// that adopts it before anything is answered under it.
type Membership struct {
	// Epoch numbers the configurations of one cluster; it only rises.
	Epoch uint64
	// Voters are the voters, sorted; while joint, the old set.
	Voters []string
	// Next is, while joint, the new set, sorted; nil otherwise. A joint
	// configuration needs a majority of Voters and a majority of Next.
	Next []string
	// MinEra is the lowest era of a ballot the voters of this
	// configuration promise in a Prepare (R24): 1 + the highest era floor
	// a quorum of the configuration before reported once every older
	// configuration was retired. Zero for most configurations.
	MinEra uint32
}

// Joint reports whether the configuration needs two majorities.
func (k Membership) Joint() bool { return k.Next != nil }

// Target is the voter set the configuration leads to: Next while joint,
// Voters otherwise.
func (k Membership) Target() []string {
	if k.Joint() {
		return k.Next
	}
	return k.Voters
}

// All is every voter of the configuration, sorted: Voters and Next.
func (k Membership) All() []string {
	r, err := k.rule()
	if err != nil {
		return slices.Clone(k.Voters)
	}
	return r.All().Names()
}

// Equal reports whether two configurations are the same.
func (k Membership) Equal(o Membership) bool {
	return k.Epoch == o.Epoch && k.MinEra == o.MinEra && slices.Equal(k.Voters, o.Voters) &&
		k.Joint() == o.Joint() && slices.Equal(k.Next, o.Next)
}

// Clone returns a deep copy.
func (k Membership) Clone() Membership {
	c := k
	c.Voters = slices.Clone(k.Voters)
	if k.Next != nil {
		c.Next = slices.Clone(k.Next)
	}
	return c
}

// String formats the configuration as epoch:a,b,c or epoch:a,b,c->a,d,e.
func (k Membership) String() string {
	s := fmt.Sprintf("%d:%s", k.Epoch, strings.Join(k.Voters, ","))
	if k.Joint() {
		s += "->" + strings.Join(k.Next, ",")
	}
	if k.MinEra > 0 {
		s += fmt.Sprintf(" (min era %d)", k.MinEra)
	}
	return s
}

// Fingerprint is the voter fingerprint datagrams of this configuration
// carry (R17). Epoch 0 hashes the voter list alone, as before
// reconfiguration existed, so a cluster that never changed its voters
// keeps its identity; later epochs hash everything the quorum depends on.
func (k Membership) Fingerprint() uint64 {
	if k.Epoch == 0 && !k.Joint() && k.MinEra == 0 {
		return Fingerprint(k.Voters)
	}
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], k.Epoch)
	h.Write(b[:])
	binary.BigEndian.PutUint32(b[:4], k.MinEra)
	h.Write(b[:4])
	binary.BigEndian.PutUint64(b[:], Fingerprint(k.Voters))
	h.Write(b[:])
	if k.Joint() {
		binary.BigEndian.PutUint64(b[:], Fingerprint(k.Next))
		h.Write(b[:])
	}
	return h.Sum64()
}

// rule is the quorum rule of the configuration.
func (k Membership) rule() (quorum.Rule, error) { return quorum.NewRule(k.Voters, k.Next) }

// ErrMembership means a configuration is malformed: unsorted or duplicate
// voters, an empty set, a name too long, or too many voters.
var ErrMembership = errors.New("protocol: invalid voter configuration")

// Validate checks that the configuration is well formed.
func (k Membership) Validate() error {
	check := func(what string, s []string) error {
		if !slices.IsSorted(s) {
			return fmt.Errorf("%w: %s not sorted", ErrMembership, what)
		}
		for _, v := range s {
			if len(v) > MaxNodeNameLen {
				return fmt.Errorf("%w: %s: name longer than %d bytes", ErrMembership, what, MaxNodeNameLen)
			}
		}
		return nil
	}
	if err := check("voters", k.Voters); err != nil {
		return err
	}
	if k.Joint() {
		if err := check("next voters", k.Next); err != nil {
			return err
		}
	}
	if _, err := k.rule(); err != nil {
		return fmt.Errorf("%w: %w", ErrMembership, err)
	}
	return nil
}

// NewVoters builds the sorted voter list a Reconfigure asks for, refusing
// what NewSet refuses.
func NewVoters(voters []string) ([]string, error) {
	s := slices.Clone(voters)
	slices.Sort(s)
	k := Membership{Voters: s}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// ConfigRecordVersion is the format version of an encoded ConfigRecord.
const ConfigRecordVersion = 1

// ConfigRecord is what a node keeps durable about voter configurations
// (R21, R22): the configuration it adopted, and its acceptor state of the
// Paxos slot that chooses the next one. The driver writes it (fsync)
// before it sends anything of the Output that carries it
// (Output.PersistConfig) and gives it back at every start (Start.Config),
// crashed starts included: unlike promises for leases, this state is never
// forgotten.
type ConfigRecord struct {
	Version int
	// Config is the adopted configuration.
	Config Membership
	// Promised is the highest ballot promised in the slot of epoch
	// Config.Epoch+1, and PromisedAttempt the attempt that asked (R20).
	Promised        Ballot
	PromisedAttempt uint64
	// Accepted and Value are the ballot and configuration accepted in
	// that slot; Value is nil if none.
	Accepted Ballot
	Value    *Membership
}

// ErrConfigRecord means an encoded ConfigRecord could not be read.
var ErrConfigRecord = errors.New("protocol: bad configuration record")

// EncodeConfigRecord serializes a ConfigRecord.
func EncodeConfigRecord(r *ConfigRecord) ([]byte, error) { return msgpack.Marshal(r) }

// DecodeConfigRecord parses a ConfigRecord written by EncodeConfigRecord
// and checks the configurations it holds.
func DecodeConfigRecord(b []byte) (*ConfigRecord, error) {
	var r ConfigRecord
	if err := msgpack.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfigRecord, err)
	}
	if r.Version != ConfigRecordVersion {
		return nil, fmt.Errorf("%w: version %d", ErrConfigRecord, r.Version)
	}
	if err := r.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfigRecord, err)
	}
	if r.Value != nil {
		if err := r.Value.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfigRecord, err)
		}
	}
	return &r, nil
}

package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tenure-dev/tenure/protocol"
)

// Membership is one voter configuration of the cluster: its epoch, its
// voters and, while a change is under way, the voters it moves to
// (protocol.Membership). Epoch 0 is Config.Voters.
type Membership = protocol.Membership

// AnyEpoch as Reconfigure's fromEpoch skips the check that the adopted
// configuration is still the one the change was planned from.
const AnyEpoch = protocol.AnyEpoch

// configView is what the node shows outside the owner goroutine about the
// adopted configuration; replaced whole, never changed.
type configView struct {
	mem   Membership
	id    protocol.Identity
	voter bool // a voter of the adopted configuration (either set while joint)
}

// reconfResult is the outcome of a Reconfigure, from its
// EventReconfigured.
type reconfResult struct {
	mem Membership
	err error
}

// Voters is the voter configuration this node has adopted: Config.Voters
// as epoch 0 until the voters are changed online (Reconfigure), then the
// configuration the cluster chose, which the data dir keeps across
// restarts. It is a copy.
func (n *Node) Voters() Membership { return n.view.Load().mem.Clone() }

// InitialVoters is the voter list the cluster started with (epoch 0), as
// this node's data dir was first bound to it: every configuration the
// cluster adopts descends from it, and a node joining the cluster must be
// given it as Voters. Sorted; a copy.
func (n *Node) InitialVoters() []string { return slices.Clone(n.genesis) }

// Reconfigure changes the cluster's voters to voters, online: held leases
// keep renewing and acquisitions keep working through the change (R25).
// fromEpoch is the epoch of the configuration the change was planned
// from (Voters().Epoch); if the adopted one is another, nothing changes
// and the error matches ErrConfigChanged. AnyEpoch skips that check.
//
// The change goes through a joint configuration (a majority of the old
// voters and a majority of the new ones) and then, after a wait of about
// MaxTTL·(1+ε)/(1−ε) that retires what the old voters granted (R23), to
// voters alone. Reconfigure returns once voters is the adopted
// configuration, with it; give ctx well over that wait (2·MaxTTL + 10 s).
//
// Errors: ErrMembership (a malformed list; nothing changed),
// ErrConfigChanged (another change came first; the Membership returned is
// the adopted one: plan again from it), ErrReconfiguring (this node
// already drives a change), ErrNoQuorum and ErrUnavailable (a step found
// no majority of the old or the new voters in time; the configuration is
// consistent, and a change already joint is finished by the voters
// themselves or by asking again with the same voters), ErrClosed, and
// ctx's error if ctx ends first: the change then goes on without the
// caller, and Voters tells where it ended.
func (n *Node) Reconfigure(ctx context.Context, voters []string, fromEpoch uint64) (Membership, error) {
	if err := checkVoterNames(voters); err != nil {
		return n.Voters(), err
	}
	wait := make(chan reconfResult, 1)
	var err error
	derr := n.do(ctx, func() {
		err = n.m.Reconfigure(n.now(), protocol.ReconfigureRequest{Voters: voters, FromEpoch: fromEpoch})
		if err == nil {
			n.reconf = wait
			n.log.Info("voter change started", "from", n.m.Membership().String(), "to", protocol.VoterList(voters))
		}
	})
	if derr != nil {
		return Membership{}, derr
	}
	if err != nil {
		return n.Voters(), reconfError(err)
	}
	select {
	case r := <-wait:
		return r.mem, r.err
	case <-ctx.Done():
		return n.Voters(), fmt.Errorf("%w: the voter change goes on without this caller; Voters tells where it ends", ctx.Err())
	case <-n.done:
		return Membership{}, ErrClosed
	}
}

// checkVoterNames refuses names a voter list of Reconfigure must not
// hold, beyond what the protocol checks (ErrMembership): names that are
// not printable UTF-8 or hold a space or a comma, which every voter list
// of the CLI, the gossip metadata and the logs separates names with.
func checkVoterNames(voters []string) error {
	for _, v := range voters {
		ok := utf8.ValidString(v)
		for _, r := range v {
			if !ok || !unicode.IsPrint(r) || unicode.IsSpace(r) || r == ',' {
				ok = false
				break
			}
		}
		if !ok {
			return fmt.Errorf("%w: voter name %q: want printable UTF-8 without spaces or commas", ErrMembership, v)
		}
	}
	return nil
}

// reconfError gives a protocol error of a voter change the node's
// sentinel as well.
func reconfError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, protocol.ErrMembership):
		return &sentinelError{ErrMembership, err}
	case errors.Is(err, protocol.ErrConfigChanged):
		return &sentinelError{ErrConfigChanged, err}
	case errors.Is(err, protocol.ErrReconfiguring):
		return &sentinelError{ErrReconfiguring, err}
	case errors.Is(err, protocol.ErrNoQuorum):
		return &sentinelError{ErrUnavailable, &sentinelError{ErrNoQuorum, err}}
	case errors.Is(err, protocol.ErrTokensExhausted):
		return &sentinelError{ErrTokensExhausted, err}
	case errors.Is(err, protocol.ErrStopped):
		return ErrClosed
	}
	return err
}

// configEvent handles the machine's configuration events, on the owner
// goroutine.
func (n *Node) configEvent(e *protocol.Event) {
	switch e.Kind {
	case protocol.EventConfig:
		n.log.Info("adopted voter configuration", "config", e.Config.String(), "voter", n.m.IsVoter())
		n.noteConfig()
	case protocol.EventReconfigured:
		r := reconfResult{mem: *e.Config, err: reconfError(e.Err)}
		if r.err != nil {
			n.log.Warn("voter change ended without its voters", "config", e.Config.String(), "err", r.err)
		} else {
			n.log.Info("voter change done", "config", e.Config.String())
		}
		if n.reconf != nil {
			n.reconf <- r // buffered: its caller may have gone
			n.reconf = nil
		}
	}
}

// noteConfig publishes the adopted configuration outside the owner
// goroutine: Voters, Members, the availability counts, the gossip
// metadata (R17: the identity it carries follows the epoch) and the join
// guard. It runs on the owner goroutine, or in New before it starts.
func (n *Node) noteConfig() {
	v := &configView{mem: n.m.Membership(), id: n.m.ID(), voter: n.m.IsVoter()}
	old := n.view.Swap(v)
	n.answers.set(v.mem.All())
	if n.guard != nil {
		n.guard.setSelf(n.currentMeta())
	}
	if old != nil && old.voter && !v.voter {
		n.log.Warn("this node is no longer a voter of the adopted configuration", "config", v.mem.String())
	}
	if old != nil && old.id != v.id {
		// Gossip the new identity; UpdateNode waits on the network, so
		// not on the owner goroutine.
		select {
		case n.metaKick <- struct{}{}:
		default:
		}
	}
}

// regossip gossips this node's metadata again each time the adopted
// configuration changes (noteConfig), and catches up when gossip shows a
// member of this cluster at a newer configuration, until the node stops.
// A node in neither set of a change (a client-only node) is not sent the
// new configuration; it would learn it only from the voters' answers to
// its next request. Catching up is that request: a read-only query to
// the voters it knows, which answer a node behind with the configuration
// they adopted (Machine.Deliver). At most one per catchUpEvery.
func (n *Node) regossip() {
	defer n.bg.Done()
	var last time.Time
	for {
		select {
		case <-n.metaKick:
			if err := n.ml.UpdateNode(regossipWait); err != nil {
				n.log.Debug("new voter configuration not gossiped yet", "err", err)
			}
		case <-n.catchUp:
			if time.Since(last) < catchUpEvery {
				continue
			}
			last = time.Now()
			// Holder ends with ErrClosed as soon as the node stops.
			ctx, cancel := context.WithTimeout(context.Background(), catchUpEvery)
			_, _ = n.Holder(ctx, readyProbeName)
			cancel()
		case <-n.done:
			return
		}
	}
}

// catchUpEvery spaces the queries of a node that is behind.
const catchUpEvery = time.Second

// regossipWait bounds regossip's wait for its broadcast: gossip repeats
// it anyway, and a stop waits for regossip.
const regossipWait = 200 * time.Millisecond

// currentMeta is this node's gossip metadata under the adopted
// configuration.
func (n *Node) currentMeta() memberMeta {
	m := n.meta
	v := n.view.Load()
	m.voter, m.id, m.voters = v.voter, v.id, protocol.VoterList(v.mem.All())
	return m
}

// checkDirVoters compares the voter list of the data dir with this
// start's (R17). Once the dir holds a configuration adopted online (epoch
// above 0), Config.Voters is only the list the cluster started with: the
// adopted configuration, chosen by the cluster and kept in the dir, rules,
// and the flag is not compared (a node started again with the list of its
// unit file works, whichever it is). Before that, a voter's dir under
// another list is refused as always. It reports whether the dir must be
// rebound to Config.Voters.
func (n *Node) checkDirVoters(id dirIdentity, rec *protocol.ConfigRecord, used bool) (bool, error) {
	if rec != nil && rec.Config.Epoch > 0 {
		if now := sortedCopy(n.cfg.Voters); !slices.Equal(now, id.Voters) && !slices.Equal(now, rec.Config.Target()) {
			n.log.Info("Voters is only the initial voter list: this data dir runs the configuration the cluster adopted",
				"voters_flag", protocol.VoterList(now), "config", rec.Config.String())
		}
		return false, nil
	}
	return id.checkVoters(n.cfg.DataDir, n.cfg.Voters, n.cfg.Restored || !used)
}

package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/api"
)

// ReconfigRun is one run of the voter-change step (FaultReconfig): the
// voters are changed online while the clients run, and put back. Runs
// alternate between a 3 -> 5 -> 3 cycle (every non-voter added, then
// removed) and a replacement (a voter replaced by a non-voter in one
// change, then the other way back).
type ReconfigRun struct {
	// Kind is "cycle" or "replace".
	Kind string
	// Changes are the changes made, in order.
	Changes []ReconfigChange
	// Done says every change completed: the cluster ends the step on the
	// voters it began with.
	Done bool
}

// ReconfigChange is one change of a ReconfigRun.
type ReconfigChange struct {
	// To is the voter set asked for; Via the agent asked.
	To  []string
	Via string
	// Epoch is the epoch of the configuration the change ended on.
	Epoch uint64
	// Tries is how many PUT /v1/voters it took (a 409 or 503 is tried
	// again); Took how long from the first.
	Tries int
	Took  time.Duration
	// Err is why it did not complete, if it did not; Refused what the
	// tries before the last were answered (a 409 when the agent asked
	// had not yet adopted the change before, say).
	Err     string
	Refused []string
}

// reconfigChangeLimit bounds one change of the step: the wait W (about
// MaxTTL = 2 TTLs here) and a few round trips, tried again after a 409 or
// a 503, with room for a voter that came back from a fault just before.
const reconfigChangeLimit = 2 * time.Minute

// reconfigure runs the voter-change step (see ReconfigRun).
func (n *nemesis) reconfigure(ctx context.Context) (string, error) {
	c := n.c
	var voters, others []string
	for _, a := range c.agents {
		if a.voter {
			voters = append(voters, a.spec.Name)
		} else {
			others = append(others, a.spec.Name)
		}
	}
	n.mu.Lock()
	runs := len(n.reconfRuns)
	n.mu.Unlock()
	run := ReconfigRun{Kind: "cycle"}
	var plan [][]string
	if runs%2 == 1 && len(others) > 0 {
		run.Kind = "replace"
		x, y := voters[n.rng.Intn(len(voters))], others[n.rng.Intn(len(others))]
		repl := slices.DeleteFunc(slices.Clone(voters), func(v string) bool { return v == x })
		plan = [][]string{sortedNames(append(repl, y)), voters}
	} else {
		plan = [][]string{sortedNames(append(slices.Clone(voters), others...)), voters}
	}
	var errs []error
	run.Done = true
	for _, to := range plan {
		ch := n.changeVoters(ctx, to)
		run.Changes = append(run.Changes, ch)
		n.logf("nemesis: voters -> %s via %s: epoch %d, %d tries, %v %s (refused before: %q)", strings.Join(to, ","), ch.Via, ch.Epoch, ch.Tries, ch.Took.Round(time.Millisecond), ch.Err, ch.Refused)
		if ch.Err != "" {
			run.Done = false
			errs = append(errs, fmt.Errorf("voters -> %s: %s", strings.Join(to, ","), ch.Err))
			break
		}
	}
	n.mu.Lock()
	n.reconfRuns = append(n.reconfRuns, run)
	n.mu.Unlock()
	var parts []string
	for _, ch := range run.Changes {
		parts = append(parts, strings.Join(ch.To, ","))
	}
	return run.Kind + ": " + strings.Join(parts, " -> "), errors.Join(errs...)
}

// changeVoters changes the voters to `to` through a voter's agent, as an
// operator would with tenure voters: GET the configuration, PUT the set
// with its epoch, and again after a 409 (another change, or a lagging
// view) or a 503 (no majority of the old or the new voters answered yet,
// say a voter still in quarantine after the fault before).
func (n *nemesis) changeVoters(ctx context.Context, to []string) ReconfigChange {
	ch := ReconfigChange{To: to}
	ctx, cancel := context.WithTimeout(ctx, reconfigChangeLimit)
	defer cancel()
	began := time.Now()
	var last error
	for {
		a := n.pickVoterAgent(to)
		ch.Via = a.spec.Name
		cl := n.voterClient(a)
		cur, err := cl.Voters(ctx)
		if err == nil && !cur.Joint && slices.Equal(cur.Voters, to) {
			ch.Epoch, ch.Took = cur.Epoch, time.Since(began)
			return ch // done already (by an earlier try whose answer was lost)
		}
		if err == nil {
			ch.Tries++
			var done api.Voters
			done, err = cl.SetVoters(ctx, to, cur.Epoch)
			if err == nil {
				ch.Epoch, ch.Took = done.Epoch, time.Since(began)
				return ch
			}
		}
		last = err
		if len(ch.Refused) < 8 {
			ch.Refused = append(ch.Refused, err.Error())
		}
		if !pause(ctx, 500*time.Millisecond) {
			ch.Took, ch.Err = time.Since(began), fmt.Sprintf("not done in %v: %v", reconfigChangeLimit, last)
			return ch
		}
	}
}

// pickVoterAgent picks an agent to ask: a voter of the target set that is
// also one of the original voters (so a voter of every configuration the
// step goes through), at random.
func (n *nemesis) pickVoterAgent(to []string) *agentNode {
	var pool []*agentNode
	for _, a := range n.c.agents {
		if a.voter && slices.Contains(to, a.spec.Name) {
			pool = append(pool, a)
		}
	}
	if len(pool) == 0 {
		pool = n.c.agents
	}
	return pool[n.rng.Intn(len(pool))]
}

// voterClient is an API client of agent a, waiting long enough for a
// change.
func (n *nemesis) voterClient(a *agentNode) *api.Client {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: time.Second}).DialContext}
	return &api.Client{BaseURL: "http://" + a.spec.HTTP, Token: n.c.token, HTTP: &http.Client{Transport: tr, Timeout: reconfigChangeLimit}}
}

// sortedNames returns s sorted.
func sortedNames(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// reconfigFigure summarizes the voter-change steps: how many of each kind
// completed, and the range of the time one change took.
func reconfigFigure(runs []ReconfigRun) string {
	if len(runs) == 0 {
		return "none"
	}
	done := map[string]int{}
	all := map[string]int{}
	var lo, hi time.Duration
	changes := 0
	for _, r := range runs {
		all[r.Kind]++
		if r.Done {
			done[r.Kind]++
		}
		for _, ch := range r.Changes {
			if ch.Err != "" {
				continue
			}
			if changes == 0 || ch.Took < lo {
				lo = ch.Took
			}
			if changes == 0 || ch.Took > hi {
				hi = ch.Took
			}
			changes++
		}
	}
	return fmt.Sprintf("%d/%d 3->5->3 cycles and %d/%d replacements done; %d changes, %v to %v each",
		done["cycle"], all["cycle"], done["replace"], all["replace"], changes, lo.Round(time.Millisecond), hi.Round(time.Millisecond))
}

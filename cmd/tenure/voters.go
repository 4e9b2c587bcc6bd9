package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/api"
)

func init() {
	register("voters", "show or change the cluster's voters online", runVoters)
}

// votersWords are the actions of tenure voters (its first argument).
var votersWords = []string{"set", "add", "remove", "replace"}

const votersAbout = `
Without an action, shows the voter configuration the agent's node has
adopted: its epoch (0 until the voters are first changed), the voters and,
while a change is under way, the voters it moves to.

With an action, changes the voters online, as one change planned from the
configuration the agent shows now (GET /v1/voters, then PUT with its
epoch; if another change came first, nothing changes and the command
exits 1: run it again):

  set a,b,c,d,e    the voters become exactly these (names comma- or
                   space-separated)
  add x [y...]     add voters
  remove x [y...]  remove voters
  replace x y      remove x and add y, in one change

Held leases keep renewing through a change. A change takes about
--max-ttl of the voters (their largest ever) plus a few round trips: it
waits that long for what the old voters granted to run out before the new
set alone decides. It needs a majority of the old voters and a majority
of the new ones. Start a new voter first (tenure agent with the same
--cluster and the cluster's initial --voters list; it learns the adopted
configuration from its peers), then add it. Ask a voter's agent: a
non-voter learns a newer configuration only at its next request.

Exit status: 0 done, 1 failure (agent unreachable, another change came
first, no majority of the old or the new voters answered: the
configuration is left consistent, GET shows it), 2 bad usage or a voter
list the agent refused.`

func runVoters(args []string, stdout, stderr io.Writer) int {
	var url, tokenFile string
	var asJSON bool
	var timeout time.Duration
	f := newCmdFlags("voters", "tenure voters [flags] [set LIST | add NAME... | remove NAME... | replace OLD NEW]", votersAbout)
	f.words = votersWords
	addAgentFlags(f, &url, &tokenFile)
	f.BoolVar(&asJSON, "json", false, "print the configuration as one JSON object")
	f.DurationVar(&timeout, "timeout", 3*time.Minute, "how long to wait for the agent, a change included")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	action, names := "", splitNames(f.Args())
	if f.NArg() > 0 {
		action, names = f.Arg(0), splitNames(f.Args()[1:])
		if !slices.Contains(votersWords, action) {
			return f.fail(stderr, "unknown action %q: want one of %s", action, strings.Join(votersWords, ", "))
		}
	}
	switch {
	case action == "" && len(names) > 0:
		return f.fail(stderr, "unexpected argument %q", f.Arg(0))
	case action == "replace" && len(names) != 2:
		return f.fail(stderr, "replace takes two names: the voter to remove and the one to add")
	case action != "" && len(names) == 0:
		return f.fail(stderr, "%s needs voter names", action)
	}
	client, err := f.newClient(url, tokenFile)
	if err != nil {
		return f.fail(stderr, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cur, err := client.Voters(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tenure voters: %s: %v\n", url, err)
		return exitFail
	}
	if action == "" {
		return printVoters(stdout, stderr, cur, asJSON)
	}
	want, err := planVoters(cur, action, names)
	if err != nil {
		return f.fail(stderr, "%v", err)
	}
	fmt.Fprintf(stderr, "tenure voters: changing the voters from %s to %s (epoch %d); this waits out the longest lease the old voters keep (at most --max-ttl), plus a few round trips\n",
		strings.Join(cur.Voters, ","), strings.Join(want, ","), cur.Epoch)
	done, err := client.SetVoters(ctx, want, cur.Epoch)
	switch st := api.StatusOf(err); {
	case err == nil:
		return printVoters(stdout, stderr, done, asJSON)
	case st == http.StatusBadRequest:
		fmt.Fprintf(stderr, "tenure voters: refused: %v\n", err)
		return exitUsage
	case st == http.StatusConflict:
		fmt.Fprintf(stderr, "tenure voters: %v\nAnother change came first: nothing of this one was done. Run 'tenure voters' and plan again.\n", err)
		return exitFail
	case st == http.StatusServiceUnavailable:
		fmt.Fprintf(stderr, "tenure voters: %v\nNo majority of the old or the new voters answered in time. The configuration is consistent ('tenure voters' shows it); a change that became joint is finished by the voters, or by running this again.\n", err)
		return exitFail
	case errors.Is(err, context.DeadlineExceeded) || st == http.StatusGatewayTimeout:
		fmt.Fprintf(stderr, "tenure voters: %v\nThe change may still complete: 'tenure voters' shows where it is.\n", err)
		return exitFail
	default:
		fmt.Fprintf(stderr, "tenure voters: %s: %v\n", url, err)
		return exitFail
	}
}

// splitNames reads voter names given as arguments, each possibly
// comma-separated.
func splitNames(args []string) []string {
	var out []string
	for _, a := range args {
		for p := range strings.SplitSeq(a, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// planVoters computes the voter set an action asks for from the adopted
// configuration cur. It refuses an action that would change nothing or
// names a voter wrongly, and a shorthand while a change is under way
// (only set to the set it moves to finishes it).
func planVoters(cur api.Voters, action string, names []string) ([]string, error) {
	if cur.Joint && action != "set" {
		return nil, fmt.Errorf("a change from %s to %s is under way: wait for it ('tenure voters'), or finish it with 'tenure voters set %s'",
			strings.Join(cur.Voters, ","), strings.Join(cur.Next, ","), strings.Join(cur.Next, ","))
	}
	in := func(n string) bool { return slices.Contains(cur.Voters, n) }
	var want []string
	switch action {
	case "set":
		want = slices.Clone(names)
	case "add":
		want = slices.Clone(cur.Voters)
		for _, n := range names {
			if in(n) || slices.Contains(want, n) {
				return nil, fmt.Errorf("%s is already a voter", n)
			}
			want = append(want, n)
		}
	case "remove":
		for _, n := range names {
			if !in(n) {
				return nil, fmt.Errorf("%s is not a voter (voters: %s)", n, strings.Join(cur.Voters, ","))
			}
		}
		for _, v := range cur.Voters {
			if !slices.Contains(names, v) {
				want = append(want, v)
			}
		}
		if len(want) == 0 {
			return nil, errors.New("cannot remove every voter")
		}
	case "replace":
		old, repl := names[0], names[1]
		switch {
		case !in(old):
			return nil, fmt.Errorf("%s is not a voter (voters: %s)", old, strings.Join(cur.Voters, ","))
		case in(repl):
			return nil, fmt.Errorf("%s is already a voter", repl)
		}
		for _, v := range cur.Voters {
			if v != old {
				want = append(want, v)
			}
		}
		want = append(want, repl)
	}
	slices.Sort(want)
	if !cur.Joint && slices.Equal(slices.Compact(slices.Clone(want)), cur.Voters) {
		return nil, fmt.Errorf("the voters are already %s", strings.Join(cur.Voters, ","))
	}
	return want, nil
}

// printVoters shows a configuration, as text or JSON.
func printVoters(stdout, stderr io.Writer, v api.Voters, asJSON bool) int {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(stderr, "tenure voters: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "epoch: %d\nvoters: %s\n", v.Epoch, strings.Join(v.Voters, ","))
	if v.Joint {
		fmt.Fprintf(stdout, "changing to: %s (under way: a lease needs a majority of both sets)\n", strings.Join(v.Next, ","))
	}
	if v.MinEra > 0 {
		fmt.Fprintf(stdout, "min era: %d\n", v.MinEra)
	}
	if len(v.Initial) > 0 && (v.Epoch > 0 || !slices.Equal(v.Initial, v.Voters)) {
		fmt.Fprintf(stdout, "initial voters: %s (the --voters of every node, new ones included)\n", strings.Join(v.Initial, ","))
	}
	role := "not a voter"
	if v.Voter {
		role = "voter"
	}
	fmt.Fprintf(stdout, "this node (%s): %s\n", v.Node, role)
	return exitOK
}

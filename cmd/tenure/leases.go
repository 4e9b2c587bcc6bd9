package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tenure-dev/tenure/api"
)

func init() {
	register("leases", "list every live lease the voters know (a hint)", runLeases)
}

const leasesAbout = `
Lists every live lease of the cluster, whoever holds it, as the voters
know them: each --agent must be a voter's agent, which answers with its
own node's view (GET /v1/leases?all=1). Name the agents of all the voters
(--agent repeated, or comma-separated) for the fullest picture: a lease is
granted by a majority, so a single voter may not know it. For each name
the tenure with the highest fencing token any voter reports is shown,
with the voters that reported it.

The listing is a hint, never knowledge: by the time it prints a lease may
have ended or changed hands, REMAINING is what the reporting voter meant
to keep the lease exclusive when it answered, and AGE is how long ago that
was (by this machine's clock, at most). A voter in quarantine may have
forgotten leases; it is flagged. Only the holder knows that it holds a
lease.

Exit status: 0 if at least one agent answered (an agent that did not is
named on stderr), 1 if none did, 2 for bad usage.`

// leaseView is one voter's answer to tenure leases, or why it is missing.
type leaseView struct {
	Agent       string    `json:"agent"`
	Voter       string    `json:"voter,omitempty"`
	ObservedAt  time.Time `json:"observed_at,omitzero"`
	Quarantined bool      `json:"quarantined,omitempty"`
	Error       string    `json:"error,omitempty"`
	sent        time.Time // when the request left, by this machine's clock
	leases      []api.HolderHint
}

// mergedLease is one lease of the merged listing.
type mergedLease struct {
	api.HolderHint
	// AgeMS is how long ago, at most, the reporting voter answered.
	AgeMS int64 `json:"age_ms"`
	// ObservedAt is when the reporting voter read its view, by its clock.
	ObservedAt time.Time `json:"observed_at"`
	// SeenBy names the voters that reported this tenure.
	SeenBy []string `json:"seen_by"`
}

// leasesReport is what --json prints.
type leasesReport struct {
	Hint   bool          `json:"hint"`
	Voters []leaseView   `json:"voters"`
	Leases []mergedLease `json:"leases"`
}

func runLeases(args []string, stdout, stderr io.Writer) int {
	var agents stringList
	var tokenFile string
	var asJSON bool
	var timeout time.Duration
	f := newCmdFlags("leases", "tenure leases [--agent URL]... [flags]", leasesAbout)
	f.Var(&agents, "agent", "a voter's agent `URL` (repeatable or comma-separated; default http://127.0.0.1:7947)")
	f.StringVar(&tokenFile, "http-token-file", "", "`file` holding the agents' bearer token")
	f.addCAFlag()
	f.BoolVar(&asJSON, "json", false, "print one JSON object instead of a table")
	f.DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the agents")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.NArg() > 0 {
		return f.fail(stderr, "unexpected argument %q", f.Arg(0))
	}
	if len(agents) == 0 {
		agents = stringList{"http://127.0.0.1:7947"}
	}
	clients := make([]*api.Client, len(agents))
	for i, u := range agents {
		c, err := f.newClient(u, tokenFile)
		if err != nil {
			return f.fail(stderr, "%v", err)
		}
		clients[i] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	views := make([]leaseView, len(clients))
	done := make(chan struct{})
	for i, c := range clients {
		go func() {
			defer func() { done <- struct{}{} }()
			v := leaseView{Agent: c.BaseURL, sent: time.Now()}
			ans, err := c.VoterLeases(ctx)
			if err != nil {
				v.Error = err.Error()
			} else {
				v.Voter, v.ObservedAt, v.Quarantined, v.leases = ans.Voter, ans.ObservedAt, ans.Quarantined, ans.Leases
			}
			views[i] = v
		}()
	}
	for range clients {
		<-done
	}
	answered := 0
	for _, v := range views {
		if v.Error != "" {
			fmt.Fprintf(stderr, "tenure leases: %s: %s\n", v.Agent, v.Error)
			continue
		}
		answered++
	}
	if answered == 0 {
		return 1
	}
	r := leasesReport{Hint: true, Voters: views, Leases: mergeViews(views, time.Now())}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(stderr, "tenure leases: %v\n", err)
			return 1
		}
		return exitOK
	}
	printLeases(stdout, r)
	return exitOK
}

// mergeViews merges the voters' views: per name, the tenure with the
// highest token, with every voter that reported that tenure.
func mergeViews(views []leaseView, now time.Time) []mergedLease {
	byName := map[string]*mergedLease{}
	for _, v := range views {
		if v.Error != "" {
			continue
		}
		for _, h := range v.leases {
			m := byName[h.Name]
			switch {
			case m == nil || h.Token > m.Token:
				byName[h.Name] = &mergedLease{HolderHint: h, AgeMS: now.Sub(v.sent).Milliseconds(), ObservedAt: v.ObservedAt, SeenBy: []string{v.Voter}}
			case h.Token == m.Token:
				m.SeenBy = append(m.SeenBy, v.Voter)
			}
		}
	}
	out := make([]mergedLease, 0, len(byName))
	for _, m := range byName {
		sort.Strings(m.SeenBy)
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// printLeases prints r as a table, names quoted by api.QuoteName.
func printLeases(w io.Writer, r leasesReport) {
	var asked []string
	for _, v := range r.Voters {
		switch {
		case v.Error != "":
			asked = append(asked, v.Agent+" (no answer)")
		case v.Quarantined:
			asked = append(asked, api.QuoteName(v.Voter)+" (QUARANTINED: may have forgotten leases)")
		default:
			asked = append(asked, api.QuoteName(v.Voter))
		}
	}
	fmt.Fprintf(w, "a hint, as seen by voters %s\n", strings.Join(asked, ", "))
	if len(r.Leases) == 0 {
		fmt.Fprintln(w, "no live lease known to these voters")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEASE\tHOLDER\tTOKEN\tREMAINING\tAGE\tSEEN BY")
	for _, l := range r.Leases {
		seen := make([]string, len(l.SeenBy))
		for i, s := range l.SeenBy {
			seen[i] = api.QuoteName(s)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%s\n", api.QuoteName(l.Name), api.QuoteName(l.Node), l.TokenStr,
			time.Duration(l.RemainingMS)*time.Millisecond, time.Duration(l.AgeMS)*time.Millisecond, strings.Join(seen, ","))
	}
	tw.Flush()
}

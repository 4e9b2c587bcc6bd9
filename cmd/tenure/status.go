package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tenure-dev/tenure/api"
)

func init() {
	register("status", "show an agent's members, voter quorum and leases", runStatus)
}

const statusAbout = `
Asks the agent for the cluster members as gossip sees them (name, address,
voter or not, alive), the voter quorum (how many voters are alive of how
many, and whether that is a majority) and the leases held through this
agent. Gossip liveness is a hint: leases are granted by a majority of the
configured voters, whatever gossip says.

It also probes the voters (GET /readyz): whether a majority of them
answers now and this node is out of quarantine ("ready: yes", or "ready:
NO" with the reason, e.g. "no quorum: 1 of 3 voters answered"), and for
each voter whether it answered the probe.

Exit status: 0, or 1 if the agent could not be reached. An agent that is
not ready still exits 0: read "ready:" (or /readyz) for that.`

// statusReport is what --json prints.
type statusReport struct {
	Agent   string        `json:"agent"`
	Self    string        `json:"self"`
	Members []api.Member  `json:"members"`
	Quorum  api.Quorum    `json:"quorum"`
	Node    api.NodeState `json:"node"`
	Leases  []api.Grant   `json:"leases"`
	// Ready is the agent's /readyz answer: whether a majority of voters
	// answers and this node is out of quarantine, and each voter's
	// reachability. Nil if the agent does not serve /readyz.
	Ready *api.Readiness `json:"ready,omitempty"`
}

func runStatus(args []string, stdout, stderr io.Writer) int {
	var url, tokenFile string
	var asJSON bool
	var timeout time.Duration
	f := newCmdFlags("status", "tenure status [flags]", statusAbout)
	addAgentFlags(f, &url, &tokenFile)
	f.BoolVar(&asJSON, "json", false, "print one JSON object instead of tables")
	f.DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the agent")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.NArg() > 0 {
		return f.fail(stderr, "unexpected argument %q", f.Arg(0))
	}
	client, err := f.newClient(url, tokenFile)
	if err != nil {
		return f.fail(stderr, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := client.Members(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tenure status: %s: %v\n", url, err)
		return 1
	}
	ls, err := client.Leases(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tenure status: %s: %v\n", url, err)
		return 1
	}
	rd, err := readiness(ctx, client)
	if err != nil {
		fmt.Fprintf(stderr, "tenure status: %s: %v\n", url, err)
		return 1
	}
	r := statusReport{Agent: url, Self: m.Self, Members: m.Members, Quorum: m.Quorum, Node: m.Node, Leases: ls.Leases, Ready: rd}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(stderr, "tenure status: %v\n", err)
			return 1
		}
		return 0
	}
	printStatus(stdout, r)
	return 0
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// printStatus prints r as tables. Names (of members and leases) are shown
// through api.QuoteName: a name with an invisible or bidi character is
// quoted with it escaped, so that no name can display as another.
func printStatus(w io.Writer, r statusReport) {
	fmt.Fprintf(w, "agent %s (node %s)\n", r.Agent, api.QuoteName(r.Self))
	fmt.Fprintf(w, "voters: %d of %d alive, majority %s\n", r.Quorum.Alive, r.Quorum.Voters, yesNo(r.Quorum.Majority))
	printNodeState(w, r.Node)
	printReadiness(w, r.Ready)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tADDRESS\tVOTER\tALIVE\tCONFIG")
	for _, m := range r.Members {
		addr := m.Addr
		if addr == "" {
			addr = "-"
		}
		config := "same"
		switch {
		case m.Mismatch:
			config = fmt.Sprintf("MISMATCH: cluster %s voters %s", api.QuoteName(m.Cluster), orUnknown(m.Voters))
		case !m.Alive:
			config = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", api.QuoteName(m.Name), addr, yesNo(m.Voter), yesNo(m.Alive), config)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if len(r.Leases) == 0 {
		fmt.Fprintln(w, "no leases held through this agent")
		return
	}
	fmt.Fprintln(tw, "LEASE\tTOKEN\tTTL\tMODE\tDEADLINE IN")
	for _, g := range r.Leases {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%v\n", api.QuoteName(g.Name), g.TokenStr, time.Duration(g.TTL), g.Mode, time.Duration(g.DeadlineMS)*time.Millisecond)
	}
	tw.Flush()
}

// printNodeState prints this node's configuration and start: its cluster
// identity (R17), and a quarantine, a start verification or a stale start
// (R9, R18) while they last.
func printNodeState(w io.Writer, s api.NodeState) {
	fmt.Fprintf(w, "cluster: %s, voters %s\n", api.QuoteName(s.Cluster), s.Voters)
	switch {
	case s.Verifying:
		fmt.Fprintln(w, "start: waiting for the other voters to confirm this data dir is not a stale copy (R18)")
	case s.Quarantined && s.StaleStart:
		fmt.Fprintf(w, "start: STALE data dir (restored, copied or wiped): quarantined for %v more\n", time.Duration(s.QuarantineLeftMS)*time.Millisecond)
	case s.Quarantined:
		fmt.Fprintf(w, "start: quarantined for %v more (this voter may have forgotten promises)\n", time.Duration(s.QuarantineLeftMS)*time.Millisecond)
	}
	if s.MismatchedMembers > 0 {
		fmt.Fprintf(w, "WARNING: %d member(s) run another cluster ID or voter list: each side refuses the other (R17)\n", s.MismatchedMembers)
	}
	if s.DuplicateNames > 0 {
		fmt.Fprintf(w, "WARNING: %d conflict(s) over a node name seen in gossip (R18)\n", s.DuplicateNames)
	}
}

// orUnknown is s, or "unknown" when s is empty.
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// readiness asks the agent's /readyz, whose answer is a JSON Readiness
// with 200 (ready) or 503 (not ready). It returns nil, nil for an agent
// without /readyz (404).
func readiness(ctx context.Context, c *api.Client) (*api.Readiness, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+"/readyz", nil)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return nil, nil
	case http.StatusOK, http.StatusServiceUnavailable:
	default:
		return nil, fmt.Errorf("GET /readyz: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var r api.Readiness
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("GET /readyz: bad answer: %w", err)
	}
	return &r, nil
}

// printReadiness prints the /readyz probe: ready or why not, this node's
// quarantine, and each voter's reachability.
func printReadiness(w io.Writer, r *api.Readiness) {
	if r == nil {
		return
	}
	if r.Error == "" {
		fmt.Fprintf(w, "ready: yes (%d of %d voters answered)\n", r.Answered, len(r.Voters))
	} else {
		fmt.Fprintf(w, "ready: NO: %s\n", r.Error)
	}
	if r.Quarantined {
		fmt.Fprintf(w, "quarantine: %v more\n", time.Duration(r.QuarantineLeftMS)*time.Millisecond)
	} else {
		fmt.Fprintln(w, "quarantine: none")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VOTER\tANSWERED\tLAST ANSWER")
	for _, v := range r.Voters {
		last := "never"
		switch {
		case v.Self:
			last = "(this node)"
		case v.LastAnswerMS >= 0:
			last = fmt.Sprintf("%v ago", time.Duration(v.LastAnswerMS)*time.Millisecond)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", api.QuoteName(v.Name), yesNo(v.Answered), last)
	}
	tw.Flush()
}

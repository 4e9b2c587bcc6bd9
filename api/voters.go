package api

import (
	"context"
	"encoding/json"
	"net/http"
)

// Voters is the voter configuration an agent's node has adopted: the
// answer of GET /v1/voters, and of PUT /v1/voters once the change is done.
type Voters struct {
	// Epoch numbers the configurations of the cluster: 0 is the initial
	// --voters list, and each step of an online change adds one.
	Epoch uint64 `json:"epoch"`
	// Voters are the voters, sorted; while Joint, the old set.
	Voters []string `json:"voters"`
	// Next is, while Joint, the set the change moves to (sorted); null
	// otherwise.
	Next []string `json:"next"`
	// Joint reports a change under way: a lease then needs a majority of
	// Voters and a majority of Next.
	Joint bool `json:"joint"`
	// MinEra is the lowest era the voters of this configuration accept in
	// a new ballot (tokens keep rising across changes); 0 for most.
	MinEra uint32 `json:"min_era"`
	// Initial is the voter list the cluster started with (epoch 0):
	// give it as --voters to every node, new ones included.
	Initial []string `json:"initial"`
	// Node is the agent's node, and Voter whether it is a voter of this
	// configuration (of either set while Joint).
	Node  string `json:"node"`
	Voter bool   `json:"voter"`
}

// SetVotersRequest is the body of PUT /v1/voters.
type SetVotersRequest struct {
	// Voters is the voter set wanted, in any order: at least one name, no
	// duplicates.
	Voters []string `json:"voters"`
	// FromEpoch is the Epoch of the GET /v1/voters the change was planned
	// from. Required: if the cluster has moved on meanwhile, the change is
	// refused with 409 and nothing changes.
	FromEpoch *uint64 `json:"from_epoch"`
}

// Voters asks for the voter configuration (GET /v1/voters).
func (c *Client) Voters(ctx context.Context) (Voters, error) {
	var v Voters
	err := c.call(ctx, http.MethodGet, "/v1/voters", nil, &v)
	return v, err
}

// SetVoters changes the voters to voters, planned from the configuration
// of epoch fromEpoch (PUT /v1/voters). It returns once the change is done,
// which takes about MaxTTL·(1+ε)/(1−ε) plus a few round trips: give ctx
// more than that. A 409 (StatusOf) means another change came first, a 503
// that no majority of the old or the new voters answered, a 400 a bad list.
func (c *Client) SetVoters(ctx context.Context, voters []string, fromEpoch uint64) (Voters, error) {
	body, err := json.Marshal(SetVotersRequest{Voters: voters, FromEpoch: &fromEpoch})
	if err != nil {
		return Voters{}, err
	}
	var v Voters
	err = c.call(ctx, http.MethodPut, "/v1/voters", body, &v)
	return v, err
}

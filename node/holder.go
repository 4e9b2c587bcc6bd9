package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// Holder is a hint from the voters about who holds a lease (R14): by the
// time it arrives the lease may have changed hands. Only the holder knows
// that it holds a lease; its Lease handle is that knowledge.
type Holder struct {
	// Node is the holder's name.
	Node string
	// Token is the fencing token of its tenure.
	Token uint64
	// Value is what the holder stored with the lease (WithValue).
	Value []byte
	// Remaining is how long the answering voter meant to keep the lease
	// exclusive, measured on its clock when it answered: the hint's age is
	// the time since Holder was called, and more.
	Remaining time.Duration
}

type holderResult struct {
	h   Holder
	err error
}

// Holder asks the voters who holds the lease name and returns the answer
// of the most recent tenure a majority reported, or ErrNoHolder when none
// knows a live one, or ErrNoQuorum when too few voters answered. It is a
// hint (R14), never a basis for acting as if one held the lease.
func (n *Node) Holder(ctx context.Context, name string) (Holder, error) {
	if err := protocol.CheckName(name); err != nil {
		return Holder{}, mapErr(err)
	}
	res := make(chan holderResult, 1)
	since := n.now()
	err := n.do(ctx, func() {
		id, err := n.m.Query(n.now(), name)
		if err != nil {
			res <- holderResult{err: mapErr(err)}
			return
		}
		n.queries[id] = res
	})
	if err != nil {
		return Holder{}, err
	}
	select {
	case r := <-res:
		if errors.Is(r.err, ErrNoQuorum) {
			if u := n.unavailable(since); u != nil {
				return Holder{}, u
			}
		}
		return r.h, r.err
	case <-ctx.Done():
		return Holder{}, n.asUnavailable(ctx.Err(), since)
	}
}

// answerQuery delivers an EventQuery to the caller that asked.
func (n *Node) answerQuery(e *protocol.Event) {
	c := n.queries[e.QueryID]
	if c == nil {
		return
	}
	delete(n.queries, e.QueryID)
	switch {
	case e.Holder.Live():
		h := e.Holder
		c <- holderResult{h: Holder{Node: h.Owner, Token: h.Ballot.Token(), Value: h.Value, Remaining: h.Remaining}}
	case errors.Is(e.Err, protocol.ErrNoQuorum):
		c <- holderResult{err: fmt.Errorf("%w: %w", ErrNoQuorum, e.Err)}
	case e.Err != nil:
		c <- holderResult{err: e.Err}
	default:
		c <- holderResult{err: ErrNoHolder}
	}
}

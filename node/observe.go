package node

import (
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tenure-dev/tenure/protocol"
)

// Observation timing.
const (
	// observePoll is how often, on average, an observer asks the voters
	// who holds its lease name when gossip told it nothing since the last
	// poll: it catches announcements the gossip lost, and holders that do
	// not announce. While a known tenure's announcements keep arriving
	// (a Campaign holder announces each renewal), the observer does not
	// poll: the announcements are its notices. Each poll is one query
	// round trip to the voters. The actual interval is drawn from [¾, 1¼]
	// of it.
	observePoll = time.Second
	// observeRefresh is how long before a known tenure would run out an
	// observer asks the voters whether it was renewed, when no
	// announcement said so: a holder's renewal is then confirmed before
	// the observer would report a vacancy.
	observeRefresh = 250 * time.Millisecond
	// observeBacklog is how many changes an observer keeps for a reader
	// that has not taken them; beyond it the oldest are dropped, and the
	// latest is always kept.
	observeBacklog = 64
	// observeInbox is how many announcements may wait for an observer.
	observeInbox = 16
)

// news is an announcement as an observer receives it, with the instant it
// arrived on the node's clock.
type news struct {
	a  announcement
	at time.Time
}

// queryAnswer is the voters' answer to an observer's query, with the
// instant the query was sent.
type queryAnswer struct {
	h      Holder
	err    error
	sentAt time.Time
}

// Observe reports who holds the lease name, as this node hears it, until
// ctx ends; then the channel closes. It also closes at once if name is not
// a valid lease name, and when the node stops.
//
// The first value is the current state as soon as it is known; after that
// a value is sent for each change: a new tenure (a Holder with a higher
// Token than the last one sent), or a vacancy, which is the zero Holder
// (Node == "" and Token == 0). A holder reported vacant because nothing
// was heard of it before its time ran out (a partition, say) is reported
// again, with the same Token, if it turns out to have renewed. Tenure
// values carry the Remaining time as this node estimates it when sending.
// A reader that falls more than 64 changes behind loses the oldest.
//
// Every value is a hint (R14): the tenure may have changed hands by the
// time it is read. Only a Lease handle tells its holder that it holds the
// lease; never act on an Observe value as if it did.
//
// How it hears: a holder that won through Campaign announces each new
// tenure, each renewal and its end by gossip, which reaches the members
// within about a gossip round (200ms on a LAN); and the observer asks the
// voters (as Holder does) about once a second when gossip told it nothing
// since it last asked, and shortly before a known tenure would run out
// when no renewal was announced: a Campaign leader's observers, hearing
// its renewals, do not poll. So a change reaches every member within about
// a round trip plus a gossip round (holders that do not announce, or lost
// announcements: within a poll or two), and a tenure nobody renewed is reported
// vacant at the latest when its remaining time runs out on this node's
// clock, even if this node can reach no one. A tenure the voters still
// report, including one held over by a lock delay (WithLockDelay), is
// reported until they stop.
func (n *Node) Observe(ctx context.Context, name string) <-chan Holder {
	out := make(chan Holder)
	if protocol.CheckName(name) != nil {
		close(out)
		return out
	}
	select {
	case <-n.done:
		close(out)
		return out
	default:
	}
	h := fnv.New64a()
	h.Write([]byte(n.cfg.Name + "\x00" + name))
	o := &observer{
		n:     n,
		name:  name,
		out:   out,
		inbox: make(chan news, observeInbox),
		rnd:   rand.New(rand.NewPCG(h.Sum64(), uint64(n.clock.Now().UnixNano()))),
	}
	n.ann.add(o)
	go o.run(ctx)
	return out
}

// observer follows one lease name for one Observe call. Everything but
// inbox is owned by its goroutine.
type observer struct {
	n     *Node
	name  string
	out   chan Holder
	inbox chan news
	rnd   *rand.Rand

	cur       Holder    // the state last reported; Node == "" is a vacancy
	reported  bool      // anything was reported yet
	expiry    time.Time // when cur's tenure runs out, on the node's clock
	changedAt time.Time // when cur last became a tenure
	seen      uint64    // highest token reported
	closed    uint64    // highest token known to have ended

	refreshedFor time.Time // the expiry a refresh query was sent for
	news         bool      // an announcement arrived since the last poll
	nextPoll     time.Time
	querying     bool
	answers      chan queryAnswer // capacity 1: the query goroutine never blocks
	backlog      []Holder
}

func (o *observer) run(ctx context.Context) {
	defer close(o.out)
	defer o.n.ann.remove(o)
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o.answers = make(chan queryAnswer, 1)
	timer := o.n.clock.Timer(time.Hour)
	defer timer.Stop()
	o.query(qctx, o.n.clock.Now())
	for {
		var (
			send chan<- Holder
			head Holder
		)
		if len(o.backlog) > 0 {
			send, head = o.out, o.backlog[0]
		}
		o.arm(timer)
		select {
		case <-ctx.Done():
			return
		case <-o.n.done:
			return
		case send <- head:
			o.backlog[0] = Holder{}
			o.backlog = o.backlog[1:]
		case nw := <-o.inbox:
			o.heard(nw)
		case ans := <-o.answers:
			o.querying = false
			o.answered(ans)
		case <-timer.C:
		}
		o.due(qctx, o.n.clock.Now())
	}
}

// arm points timer at the next instant the observer must act: the end of
// the known tenure, the refresh before it, or the next poll.
func (o *observer) arm(timer *clock.Timer) {
	next := o.nextPoll
	if o.cur.Node != "" {
		if r := o.expiry.Add(-observeRefresh); r.After(o.refreshedFor) && r.Before(next) {
			next = r
		}
		if o.expiry.Before(next) {
			next = o.expiry
		}
	}
	timer.Stop()
	select {
	case <-timer.C:
	default:
	}
	timer.Reset(max(next.Sub(o.n.clock.Now()), 0))
}

// due does what has fallen due at now: a vacancy for a tenure that ran
// out unheard, a refresh query before it does, the periodic poll.
func (o *observer) due(ctx context.Context, now time.Time) {
	if o.cur.Node != "" && !now.Before(o.expiry) {
		// Nothing renewed it in time: as far as this node can tell, the
		// holder has stopped acting.
		o.report(Holder{})
	}
	if o.cur.Node != "" && !now.Before(o.expiry.Add(-observeRefresh)) && o.expiry.After(o.refreshedFor) {
		if o.query(ctx, now) {
			o.refreshedFor = o.expiry
		}
	}
	if !now.Before(o.nextPoll) {
		if o.news && o.cur.Node != "" {
			// Gossip told this observer of the known tenure since the
			// last poll: no need to ask the voters this time.
			o.news = false
			o.nextPoll = o.drawPoll(now)
		} else {
			o.query(ctx, now)
		}
	}
}

// drawPoll is the instant of the next periodic poll after now.
func (o *observer) drawPoll(now time.Time) time.Time {
	lo, hi := int64(observePoll)*3/4, int64(observePoll)*5/4
	return now.Add(time.Duration(lo + o.rnd.Int64N(hi-lo+1)))
}

// query asks the voters who holds the name, unless a query is already in
// flight; it reports whether it sent one. The answer arrives on
// o.answers.
func (o *observer) query(ctx context.Context, now time.Time) bool {
	if o.querying {
		return false
	}
	o.querying = true
	o.news = false
	o.nextPoll = o.drawPoll(now)
	go func() {
		h, err := o.n.Holder(ctx, o.name)
		o.answers <- queryAnswer{h: h, err: err, sentAt: now}
	}()
	return true
}

// heard applies an announcement.
func (o *observer) heard(nw news) {
	o.news = true
	a := nw.a
	switch a.kind {
	case annTenure:
		o.tenure(Holder{Node: a.node, Token: a.token, Value: a.value, Remaining: a.remaining}, nw.at)
	case annEnded:
		o.ended(a.token)
	}
}

// answered applies the voters' answer to a query.
func (o *observer) answered(ans queryAnswer) {
	now := o.n.clock.Now()
	switch {
	case ans.err == nil:
		o.tenure(ans.h, now)
	case errors.Is(ans.err, ErrNoHolder):
		if o.cur.Node != "" && o.changedAt.After(ans.sentAt) {
			// The tenure began after the query left: the answer is older
			// than what this observer knows.
			return
		}
		if o.cur.Node != "" {
			o.closed = max(o.closed, o.cur.Token)
		}
		o.report(Holder{})
	}
	// Other errors (no majority answered, the node stopping) teach
	// nothing: a known tenure runs out on its own time.
}

// tenure applies news that the tenure h is live for h.Remaining from at.
func (o *observer) tenure(h Holder, at time.Time) {
	if h.Token <= o.closed || h.Token < o.seen {
		return // ended, or older than one already reported
	}
	end := at.Add(h.Remaining)
	if o.cur.Node != "" && h.Token == o.cur.Token {
		if end.After(o.expiry) {
			o.expiry = end // a renewal
		}
		return
	}
	if o.cur.Node == "" && h.Token == o.seen && !end.After(o.expiry.Add(observeRefresh)) {
		// The tenure reported vacant when its time ran out, still listed
		// for a moment longer by the voters (their exclusion outlasts the
		// holder's deadline by the margin): not a renewal.
		return
	}
	if o.cur.Node != "" {
		o.closed = max(o.closed, o.cur.Token) // a later tenure ended it
	}
	o.expiry, o.changedAt = end, o.n.clock.Now()
	o.report(h)
}

// ended applies news that the tenure with token is over.
func (o *observer) ended(token uint64) {
	o.closed = max(o.closed, token)
	if o.cur.Node != "" && o.cur.Token <= token {
		o.report(Holder{})
	}
}

// report makes h the current state and queues it for the reader unless it
// is what was reported last.
func (o *observer) report(h Holder) {
	if o.reported && h.Node == o.cur.Node && h.Token == o.cur.Token {
		return
	}
	o.reported = true
	o.cur = h
	if h.Node != "" {
		o.seen = max(o.seen, h.Token)
		h.Remaining = max(o.expiry.Sub(o.n.clock.Now()), 0)
		h.Value = append([]byte(nil), h.Value...)
	}
	if len(o.backlog) == observeBacklog {
		o.backlog[0] = Holder{}
		o.backlog = o.backlog[1:]
	}
	o.backlog = append(o.backlog, h)
}

package protocol

import (
	"fmt"

	"github.com/tenure-dev/tenure/quorum"
)

// queryRetries is how many RetryIntervals a query waits for a majority of
// voters before it answers with what it has.
const queryRetries = 25

type query struct {
	id     uint64
	name   string
	votes  quorum.Votes
	best   LeaseInfo
	sentAt Time
	until  Time
	tk     ticket
}

func (q *query) ticket() *ticket { return &q.tk }

// Query asks the voters who holds name. The answer comes as an EventQuery
// with the returned id once a majority answered (or the query gave up). It
// is a hint (R14): by the time it arrives the lease may have changed hands.
func (m *Machine) Query(now Time, name string) (uint64, error) {
	if m.stopped {
		return 0, ErrStopped
	}
	if err := checkName(name); err != nil {
		return 0, err
	}
	m.queryID++
	q := &query{id: m.queryID, name: name, sentAt: now, until: now.Add(queryRetries * m.cfg.RetryInterval)}
	m.queries[q.id] = q
	m.broadcast(&Query{Name: name, ID: q.id})
	m.schedule(q, min(q.until, now.Add(m.cfg.RetryInterval)))
	m.drainLocal(now)
	return q.id, nil
}

func (m *Machine) onQueryReply(now Time, from string, r *QueryReply) {
	q := m.queries[r.ID]
	if q == nil || q.name != r.Name {
		return
	}
	idx, ok := m.voters.Index(from)
	if !ok || q.votes.Voted(idx) {
		return
	}
	q.votes.Yes(idx)
	if r.Holder.Live() && (!q.best.Live() || r.Holder.Ballot.Cmp(q.best.Ballot) > 0) {
		q.best = r.Holder
	}
	if q.votes.Result(m.voters) == quorum.Won {
		m.finishQuery(q, nil)
	}
}

func (m *Machine) finishQuery(q *query, err error) {
	m.emit(Event{Kind: EventQuery, Name: q.name, QueryID: q.id, Holder: q.best, Err: err})
	m.schedule(q, Never)
	delete(m.queries, q.id)
}

func (q *query) fire(m *Machine, now Time) {
	if now >= q.until {
		var err error
		if !q.best.Live() {
			err = fmt.Errorf("%w: %d of %d answered", ErrNoQuorum, q.votes.YesCount(), m.voters.Len())
		}
		m.finishQuery(q, err)
		return
	}
	for i := range m.voters.Len() {
		if !q.votes.Voted(i) {
			m.send(m.voters.Name(i), &Query{Name: q.name, ID: q.id})
		}
	}
	q.sentAt = now
	m.schedule(q, min(q.until, now.Add(m.cfg.RetryInterval)))
}

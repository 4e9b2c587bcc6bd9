package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tenure-dev/tenure/node"
)

// Watch streams.
const (
	// watchWriteTimeout bounds one write to a watcher; a watcher that
	// does not read is dropped rather than allowed to hold the agent's
	// goroutine.
	watchWriteTimeout = 10 * time.Second
	// watchBacklog is how many changes a watcher may fall behind the
	// shared observer; beyond it the oldest are dropped (as node.Observe
	// does), the latest always kept.
	watchBacklog = 64
)

// watch serves GET /v1/leases/{name}?watch=1: a newline-delimited JSON
// stream of holder changes, as node.Observe reports them (R14: hints, from
// gossip announcements and the voters), until the client goes away or the
// agent shuts down. The first line is the current state; a vacancy is a
// line with "vacant": true and an empty node.
//
// All the watch streams of one name share one node.Observe (one poll of
// the voters a second, whatever the number of watchers), and at most
// Config.MaxWatches streams are served at once: more get 503.
func (a *Agent) watch(w http.ResponseWriter, r *http.Request, name string) {
	if a.isClosed() {
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
		return
	}
	if a.watches.Add(1) > int64(a.cfg.MaxWatches) {
		a.watches.Add(-1)
		a.metrics.refused.WithLabelValues(refusedWatches).Inc()
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the agent is serving %d watch streams, its limit (--http-max-watches); try again later", a.cfg.MaxWatches))
		return
	}
	defer a.watches.Add(-1)
	ctx, cancel := a.requestContext(r)
	defer cancel()
	s := a.subscribe(name)
	defer a.unsubscribe(s)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		changes, open := s.take()
		for _, c := range changes {
			line := hint(name, c.h)
			line.Vacant = c.h.Node == ""
			if line.RemainingMS > 0 {
				// The observer estimated it when it told; count since.
				line.RemainingMS = max(0, (c.h.Remaining - time.Since(c.at)).Milliseconds())
			}
			_ = rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
			if enc.Encode(line) != nil || rc.Flush() != nil {
				return // the client went away
			}
		}
		if !open {
			return // the node or the agent stopped
		}
	}
}

// change is one holder change with the instant the observer told it.
type change struct {
	h  node.Holder
	at time.Time
}

// observation is the one node.Observe of a lease name that every watch
// stream of the name shares, with its subscribers. It lives while it has
// subscribers.
type observation struct {
	name   string
	cancel context.CancelFunc

	// Guarded by Agent.wmu.
	subs map[*subscriber]bool
	last *change // the latest change told, for new subscribers
	done bool    // the Observe channel closed
}

// subscriber is one watch stream's queue of changes.
type subscriber struct {
	o    *observation
	wake chan struct{} // capacity 1: there is something to take

	mu      sync.Mutex
	backlog []change
	closed  bool
}

// subscribe joins the observation of name, starting it if there is none;
// the latest change it told is queued first.
func (a *Agent) subscribe(name string) *subscriber {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	o := a.observations[name]
	if o == nil {
		ctx, cancel := context.WithCancel(a.ctx)
		o = &observation{name: name, cancel: cancel, subs: map[*subscriber]bool{}}
		a.observations[name] = o
		go a.observe(o, a.observeFn(ctx, name))
	}
	s := &subscriber{o: o, wake: make(chan struct{}, 1)}
	o.subs[s] = true
	if o.last != nil {
		s.push(*o.last)
	}
	if o.done {
		s.close()
	}
	return s
}

// unsubscribe leaves the observation; the last subscriber to leave stops
// it.
func (a *Agent) unsubscribe(s *subscriber) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	o := s.o
	delete(o.subs, s)
	if len(o.subs) == 0 {
		o.cancel()
		if a.observations[o.name] == o {
			delete(a.observations, o.name)
		}
	}
}

// observe runs one node.Observe and hands each change to every
// subscriber; when the channel closes (cancelled, or the node stopped) it
// closes every subscriber.
func (a *Agent) observe(o *observation, ch <-chan node.Holder) {
	a.metrics.observers.Inc()
	defer a.metrics.observers.Dec()
	for h := range ch {
		c := change{h: h, at: time.Now()}
		a.wmu.Lock()
		o.last = &c
		for s := range o.subs {
			s.push(c)
		}
		a.wmu.Unlock()
	}
	a.wmu.Lock()
	o.done = true
	for s := range o.subs {
		s.close()
	}
	if a.observations[o.name] == o {
		// Stopped by the node, not by its last subscriber: a later watch
		// starts afresh.
		delete(a.observations, o.name)
	}
	a.wmu.Unlock()
}

// push queues c, dropping the oldest change beyond watchBacklog.
func (s *subscriber) push(c change) {
	s.mu.Lock()
	if len(s.backlog) == watchBacklog {
		s.backlog = append(s.backlog[:0], s.backlog[1:]...)
	}
	s.backlog = append(s.backlog, c)
	s.mu.Unlock()
	s.signal()
}

// close marks the end of the changes.
func (s *subscriber) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns the queued changes, and false once no more will come.
func (s *subscriber) take() ([]change, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.backlog
	s.backlog = nil
	return out, !s.closed
}

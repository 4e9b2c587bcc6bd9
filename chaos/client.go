package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/chaos/check"
	"github.com/tenure-dev/tenure/fence"
)

// recorder collects the clients' operations. Its clock is the test
// process's monotonic clock, as nanoseconds since the run's origin.
type recorder struct {
	origin time.Time
	grants atomic.Int64 // granted acquires recorded so far

	mu  sync.Mutex
	ops []check.Op
}

// now reads the monotonic clock.
func (r *recorder) now() int64 { return int64(time.Since(r.origin)) }

// add records op.
func (r *recorder) add(op check.Op) {
	if op.Kind == check.Acquire && op.Outcome == check.Ok {
		r.grants.Add(1)
	}
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

// snapshot returns a copy of the operations so far.
func (r *recorder) snapshot() []check.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]check.Op(nil), r.ops...)
}

// regClient talks to the register.
type regClient struct {
	base string
	hc   *http.Client
}

func newRegClient(addr string) *regClient {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: time.Second}).DialContext}
	return &regClient{base: "http://" + addr, hc: &http.Client{Transport: tr}}
}

// statusError is a register answer with a status other than 200.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("register answered %d: %s", e.status, e.body)
}

// do sends one request and decodes a 200 answer into out.
func (r *regClient) do(req *http.Request, out any) error {
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{status: resp.StatusCode, body: string(bytes.TrimSpace(b))}
	}
	return json.Unmarshal(b, out)
}

// regEntry is a register answer.
type regEntry struct {
	Value string `json:"value"`
	Token string `json:"token"`
}

// get reads key; a key never written reads as "" with token 0.
func (r *regClient) get(ctx context.Context, key string) (string, uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/v1/keys/"+url.PathEscape(key), nil)
	if err != nil {
		return "", 0, err
	}
	var e regEntry
	err = r.do(req, &e)
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusNotFound {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	tok, err := strconv.ParseUint(e.Token, 10, 64)
	return e.Value, tok, err
}

// put writes value to key with the lease name key and token.
func (r *regClient) put(ctx context.Context, key string, token uint64, value string) error {
	body, _ := json.Marshal(map[string]string{"value": value})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, r.base+"/v1/keys/"+url.PathEscape(key), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(fence.NameHeader, key)
	req.Header.Set(fence.TokenHeader, strconv.FormatUint(token, 10))
	var e regEntry
	return r.do(req, &e)
}

// writeOutcome classifies a put's error: 409 is a stale refusal, another
// 4xx a refusal before any effect, anything else unknown.
func writeOutcome(err error) (check.Outcome, bool) {
	var se *statusError
	switch {
	case err == nil:
		return check.Ok, false
	case errors.As(err, &se) && se.status == http.StatusConflict:
		return check.Fail, true
	case errors.As(err, &se) && se.status >= 400 && se.status < 500, refused(err):
		return check.Fail, false
	}
	return check.Unknown, false
}

// agentOutcome classifies an agent call's error.
func agentOutcome(err error) check.Outcome {
	switch {
	case err == nil:
		return check.Ok
	case IsDefinite(err), refused(err):
		return check.Fail
	}
	return check.Unknown
}

// refused reports whether the connection was refused: the request never
// reached a server (a killed or restarting process), so it took no effect.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// errString is err's text, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// client is one workload loop: one agent, one key.
type client struct {
	id      int
	agent   *agentNode
	key     string
	ttl     time.Duration
	zombie  float64 // chance of a stalled write at the end of a tenure
	rng     *rand.Rand
	reg     *regClient
	rec     *recorder
	seq     int
	zombies *atomic.Int64
}

// op starts an Op of the client.
func (cl *client) op(kind check.Kind) check.Op {
	return check.Op{Client: cl.id, Agent: cl.agent.spec.Name, Kind: kind, Key: cl.key, Start: cl.rec.now()}
}

// acquire asks the agent for the lease, waiting up to wait for the
// current holder, and records the operation. On a grant it returns the
// grant and the client's deadline on the recorder's clock: the instant the
// request was sent plus deadline_ms (R16).
func (cl *client) acquire(ctx context.Context, wait time.Duration) (g Grant, deadline int64, ok bool) {
	o := cl.op(check.Acquire)
	actx, cancel := context.WithTimeout(ctx, wait+2*time.Second)
	g, err := cl.agent.api.Acquire(actx, cl.key, cl.ttl, wait)
	cancel()
	o.End, o.Outcome, o.Token, o.DeadlineMS, o.Err = cl.rec.now(), agentOutcome(err), g.Token, g.DeadlineMS, errString(err)
	cl.rec.add(o)
	if err != nil || g.DeadlineMS <= 0 {
		return g, 0, false
	}
	return g, o.Start + g.DeadlineMS*int64(time.Millisecond), true
}

// keepAlive renews g through the agent and records the operation; on
// success it moves *deadline to the later of itself and the instant the
// keepalive was sent plus the answer's deadline_ms. Sent in time, that
// extends the tenure; sent late, it starts a new stretch of the same grant
// (package check, section 3).
func (cl *client) keepAlive(ctx context.Context, g Grant, deadline *int64) bool {
	k := cl.op(check.KeepAlive)
	kctx, cancel := context.WithTimeout(ctx, time.Second)
	ms, err := cl.agent.api.KeepAlive(kctx, cl.key, g)
	cancel()
	k.End, k.Outcome, k.Token, k.DeadlineMS, k.Err = cl.rec.now(), agentOutcome(err), g.Token, ms, errString(err)
	cl.rec.add(k)
	if err != nil {
		return false
	}
	*deadline = max(*deadline, k.Start+ms*int64(time.Millisecond))
	return true
}

// release gives g back through the agent and records the operation. The
// client stops acting under g when it sends the release, whatever the
// answer.
func (cl *client) release(ctx context.Context, g Grant) {
	rl := cl.op(check.Release)
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	err := cl.agent.api.Release(rctx, cl.key, g)
	cancel()
	rl.End, rl.Outcome, rl.Token, rl.Err = cl.rec.now(), agentOutcome(err), g.Token, errString(err)
	cl.rec.add(rl)
}

// read reads the key at the register and records the operation.
func (cl *client) read(ctx context.Context) {
	r := cl.op(check.Read)
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	v, vt, err := cl.reg.get(rctx, cl.key)
	cancel()
	r.End, r.Value, r.Token, r.Err = cl.rec.now(), v, vt, errString(err)
	r.Outcome = check.Ok
	if err != nil {
		r.Outcome, r.Value, r.Token = check.Unknown, "", 0
	}
	cl.rec.add(r)
}

// run loops until ctx ends: acquire, read and write a few times (keeping
// the lease alive in between), then release or abandon, or stall and write
// late.
func (cl *client) run(ctx context.Context) {
	margin := int64(cl.ttl / 10)
	for ctx.Err() == nil {
		// Acquire, waiting up to two TTLs for the current holder.
		g, deadline, ok := cl.acquire(ctx, 2*cl.ttl)
		if !ok {
			pause(ctx, time.Duration(50+cl.rng.Intn(200))*time.Millisecond)
			continue
		}
		live := func() bool { return cl.rec.now() < deadline-margin }
		if deadline-cl.rec.now() < int64(cl.ttl/2) {
			// The grant came after a long wait, and the deadline counts
			// from when the acquire was sent: renew to get a fresh one.
			cl.keepAlive(ctx, g, &deadline)
		}

		for round := 1 + cl.rng.Intn(3); round > 0 && live() && ctx.Err() == nil; round-- {
			cl.read(ctx)
			if !live() {
				break
			}
			cl.write(ctx, g.Token, false)
			if round > 1 && cl.rng.Intn(2) == 0 {
				cl.keepAlive(ctx, g, &deadline)
			}
			pause(ctx, time.Duration(cl.rng.Intn(100))*time.Millisecond)
		}

		switch p := cl.rng.Float64(); {
		case p < cl.zombie:
			// Stall well past the deadline, as a GC pause would, then
			// write with the old token: the fence must refuse it if a
			// later tenure has written meanwhile.
			stall := time.Duration(deadline-cl.rec.now()) + cl.ttl + time.Duration(cl.rng.Int63n(int64(2*cl.ttl)))
			if pause(ctx, stall) {
				cl.zombies.Add(1)
				cl.write(ctx, g.Token, true)
			}
		case p < 0.8:
			cl.release(ctx, g)
		default:
			// Abandon: stop renewing; the agent drops the lease after a TTL.
		}
	}
}

// write writes a fresh value with token and records it.
func (cl *client) write(ctx context.Context, token uint64, zombie bool) {
	cl.seq++
	w := cl.op(check.Write)
	w.Token, w.Zombie = token, zombie
	w.Value = fmt.Sprintf("c%d-%d", cl.id, cl.seq)
	if zombie {
		w.Value += "z"
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := cl.reg.put(wctx, cl.key, token, w.Value)
	cancel()
	w.End, w.Err = cl.rec.now(), errString(err)
	w.Outcome, w.Stale = writeOutcome(err)
	cl.rec.add(w)
}

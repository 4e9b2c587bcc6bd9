package benchutil

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// RunFailovers runs the failover phase of either side: once(ctx, i, ttl)
// for each of runs runs, each giving the time from the holder's kill to the
// waiter's grant, logged through logf. It returns the runs, their median
// and the worst as a Failover with TTLMs ttl, or the first run's error.
func RunFailovers(ctx context.Context, runs int, ttl time.Duration, once func(ctx context.Context, i int, ttl time.Duration) (time.Duration, error), logf func(format string, args ...any)) (*Failover, error) {
	var ms []float64
	for i := range runs {
		d, err := once(ctx, i, ttl)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		ms = append(ms, MS(d))
		logf("failover %d/%d at TTL %v: %.1f ms", i+1, runs, ttl, MS(d))
	}
	f := &Failover{TTLMs: MS(ttl), RunsMs: ms, MedianMs: Median(ms)}
	for _, x := range ms {
		f.WorstMs = max(f.WorstMs, x)
	}
	return f, nil
}

// ErrWaiterEarly is TimeFailover's error when the waiter returned before
// the holder was killed.
var ErrWaiterEarly = errors.New("the waiter returned while the holder lived")

// TimeFailover times one failover run the same way on both sides: wait (the
// waiter's blocking acquire, on a context that ends after timeout) runs in
// the background; after delay, kill kills the holder; the figure d is the
// time from the kill to wait's return. It returns what wait returned. If
// wait returns before the kill, err wraps ErrWaiterEarly and wait's error,
// and v is what wait returned, for the caller to release.
func TimeFailover[T any](ctx context.Context, timeout, delay time.Duration, wait func(context.Context) (T, error), kill func() error) (v T, d time.Duration, err error) {
	type got struct {
		v   T
		err error
		at  time.Time
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := make(chan got, 1)
	go func() {
		v, err := wait(wctx)
		ch <- got{v, err, time.Now()}
	}()
	select {
	case g := <-ch:
		return g.v, 0, fmt.Errorf("%w: %v", ErrWaiterEarly, g.err)
	case <-time.After(delay):
	}
	t0 := time.Now()
	if err := kill(); err != nil {
		return v, 0, err
	}
	g := <-ch
	if g.err != nil {
		return g.v, 0, fmt.Errorf("waiter: %w", g.err)
	}
	return g.v, g.at.Sub(t0), nil
}

// HolderLines reads a holder process's output line by line and sends each
// line on the channel it returns when the channel has room (it holds one),
// dropping it otherwise; once the lines end it discards the rest, so the
// holder never blocks on a full pipe.
func HolderLines(out io.Reader) <-chan string {
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	return lines
}

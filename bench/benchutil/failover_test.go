package benchutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRunFailovers(t *testing.T) {
	ds := []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond, 20 * time.Millisecond}
	var logged []string
	logf := func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	var ttls []time.Duration
	f, err := RunFailovers(t.Context(), len(ds), 2*time.Second, func(_ context.Context, i int, ttl time.Duration) (time.Duration, error) {
		ttls = append(ttls, ttl)
		return ds[i], nil
	}, logf)
	if err != nil {
		t.Fatal(err)
	}
	if f.TTLMs != 2000 || f.MedianMs != 25 || f.WorstMs != 50 || fmt.Sprint(f.RunsMs) != "[30 10 50 20]" {
		t.Fatalf("failover %+v", f)
	}
	if fmt.Sprint(ttls) != "[2s 2s 2s 2s]" || len(logged) != 4 || logged[2] != "failover 3/4 at TTL 2s: 50.0 ms" {
		t.Fatalf("logged %q", logged)
	}

	bad := errors.New("holder died")
	f, err = RunFailovers(t.Context(), 3, time.Second, func(_ context.Context, i int, _ time.Duration) (time.Duration, error) {
		if i == 1 {
			return 0, bad
		}
		return time.Millisecond, nil
	}, func(string, ...any) {})
	if f != nil || !errors.Is(err, bad) || !strings.HasPrefix(err.Error(), "run 2: ") {
		t.Fatalf("failed run: %+v, %v", f, err)
	}
}

// TimeFailover: the kill ends the wait and the figure is taken; a waiter
// that returns before the kill, a failed kill and a failed wait are errors.
func TestTimeFailover(t *testing.T) {
	ctx := t.Context()
	killed := make(chan struct{})
	kill := func() error { close(killed); return nil }
	v, d, err := TimeFailover(ctx, time.Minute, time.Millisecond, func(wctx context.Context) (string, error) {
		select {
		case <-killed:
			return "granted", nil
		case <-wctx.Done():
			return "", wctx.Err()
		}
	}, kill)
	if err != nil || v != "granted" || d < 0 {
		t.Fatalf("after the kill: %q, %v, %v", v, d, err)
	}

	refused := errors.New("refused")
	v, _, err = TimeFailover(ctx, time.Minute, time.Minute, func(context.Context) (string, error) {
		return "early", refused
	}, func() error { t.Error("killed after the waiter returned"); return nil })
	if !errors.Is(err, ErrWaiterEarly) || !strings.Contains(err.Error(), "refused") || v != "early" {
		t.Fatalf("waiter before the kill: %q, %v", v, err)
	}

	noKill := errors.New("no such process")
	_, _, err = TimeFailover(ctx, time.Minute, time.Millisecond, func(wctx context.Context) (int, error) {
		<-wctx.Done() // ends when TimeFailover returns
		return 0, wctx.Err()
	}, func() error { return noKill })
	if !errors.Is(err, noKill) {
		t.Fatalf("failed kill: %v", err)
	}

	dead := make(chan struct{})
	_, _, err = TimeFailover(ctx, time.Minute, time.Millisecond, func(context.Context) (int, error) {
		<-dead
		return 0, refused
	}, func() error { close(dead); return nil })
	if !errors.Is(err, refused) || !strings.HasPrefix(err.Error(), "waiter: ") {
		t.Fatalf("failed wait after the kill: %v", err)
	}
}

// HolderLines passes the first line on, drops those that find the channel
// full, and drains the output to its end.
func TestHolderLines(t *testing.T) {
	r, w := io.Pipe()
	lines := HolderLines(r)
	done := make(chan error, 1)
	go func() {
		_, err := io.WriteString(w, "held 1.2\nsecond\n"+strings.Repeat("x", 1<<17)+"\nafter a long line\n")
		done <- err
		w.Close()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the output was not drained: the writer is still blocked")
	}
	if l := <-lines; l != "held 1.2" {
		t.Fatalf("first line %q", l)
	}
}

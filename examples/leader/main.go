// Command leader elects a leader among three nodes in one process, kills it
// (a crash: node.Shutdown, its lease is not released), and shows the
// handoff as every node sees it through Observe.
//
//	go run ./examples/leader --ttl 1s
//
// Each node runs node.RunElection. The leader's onElected gets the lease's
// context, which ends with its leadership. Observe streams who leads, with
// the fencing token of each tenure; tokens rise from one leader to the
// next, so a resource that refuses lower tokens refuses a deposed leader.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/tenure-dev/tenure/examples/internal/loopback"
	"github.com/tenure-dev/tenure/node"
)

func main() {
	ttl := flag.Duration("ttl", time.Second, "lease TTL: how long a crashed leader blocks the election")
	duration := flag.Duration("duration", 30*time.Second, "give up if the handoff has not been seen by then")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	if err := run(ctx, os.Stdout, *ttl); err != nil {
		fmt.Fprintln(os.Stderr, "leader:", err)
		os.Exit(1)
	}
}

// printer serialises output lines from many goroutines.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func run(ctx context.Context, w io.Writer, ttl time.Duration) error {
	names := []string{"n1", "n2", "n3"}
	c, err := loopback.Start(names, nil, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	out := &printer{w: w}

	// Every node watches the election. Observe is a hint (only the
	// leader's Lease says it leads), good for routing and dashboards.
	type seen struct {
		by string
		h  node.Holder
	}
	views := make(chan seen, 64)
	watchCtx, stopWatching := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	defer func() { stopWatching(); watchers.Wait() }()
	for _, name := range names {
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			for h := range c.Node(name).Observe(watchCtx, "leader") {
				if watchCtx.Err() != nil {
					return
				}
				if h.Node == "" {
					out.printf("%s sees no leader", name)
				} else {
					out.printf("%s sees leader %s (token %d, value %q)", name, h.Node, h.Token, h.Value)
				}
				select {
				case views <- seen{name, h}:
				case <-watchCtx.Done():
				}
			}
		}()
	}

	// Every node campaigns. The leader's work runs inside onElected and
	// stops when its context ends.
	elected := make(chan string, len(names))
	electCtx, resign := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, name := range names {
		n := c.Node(name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := node.RunElection(electCtx, n, "leader", []byte(name+"'s address"),
				func(lctx context.Context) {
					out.printf("%s elected", name)
					elected <- name
					<-lctx.Done() // lead until the tenure ends
				},
				func() { out.printf("%s no longer leads", name) },
				node.WithTTL(ttl))
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, node.ErrClosed) {
				out.printf("%s: election: %v", name, err)
			}
		}()
	}
	defer func() { stopWatching(); resign(); wg.Wait() }() // quiet watchers first

	var first string
	select {
	case first = <-elected:
	case <-ctx.Done():
		return fmt.Errorf("nobody was elected: %w", ctx.Err())
	}
	// Wait until every node has seen the first leader, then kill it.
	var oldToken uint64
	saw := map[string]bool{}
	for len(saw) < len(names) {
		select {
		case v := <-views:
			if v.h.Node == first {
				saw[v.by], oldToken = true, v.h.Token
			}
		case <-ctx.Done():
			return fmt.Errorf("not every node saw %s lead: %w", first, ctx.Err())
		}
	}
	out.printf("killing leader %s (token %d)", first, oldToken)
	killed := time.Now()
	if err := c.Crash(first); err != nil {
		return err
	}

	// Wait until both survivors see one new leader with a higher token.
	newLeader, newToken := "", uint64(0)
	saw = map[string]bool{}
	for len(saw) < len(names)-1 {
		select {
		case v := <-views:
			if v.by == first || v.h.Node == "" || v.h.Node == first {
				continue
			}
			if newLeader != "" && (v.h.Node != newLeader || v.h.Token != newToken) {
				return fmt.Errorf("%s sees %s (token %d), others %s (token %d)", v.by, v.h.Node, v.h.Token, newLeader, newToken)
			}
			newLeader, newToken = v.h.Node, v.h.Token
			saw[v.by] = true
		case <-ctx.Done():
			return fmt.Errorf("the survivors did not agree on a new leader: %w", ctx.Err())
		}
	}
	out.printf("handoff: %s (token %d) -> %s (token %d) after %v; tokens rise: %v",
		first, oldToken, newLeader, newToken, time.Since(killed).Round(100*time.Millisecond), newToken > oldToken)
	if newToken <= oldToken {
		return errors.New("the new leader's token is not higher")
	}
	return nil
}

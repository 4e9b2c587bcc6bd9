// Command twophase shows a transaction coordinator that holds its
// participants' locks as tenure leases, so that the locks of a coordinator
// that crashes mid-transaction free themselves, and the participants
// refuse the dead coordinator's late messages by fencing token.
//
//	go run ./examples/twophase --ttl 1s
//
// Coordinator c1 takes the locks of three participants (one lease each, in
// a fixed order so that two coordinators cannot deadlock), prepares
// transaction tx1 at each with the lock's token, and crashes before it
// commits. Coordinator c2 waits for the same locks: it gets them once c1's
// leases expire (after about the TTL; nobody has to clean up), with higher
// tokens, and prepares and commits tx2. A participant that sees a higher
// token drops the older transaction's prepared state. Then c1's commit of
// tx1, delayed in the network, arrives: every participant refuses it.
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
	"github.com/tenure-dev/tenure/node/fence"
)

func main() {
	ttl := flag.Duration("ttl", time.Second, "lock lease TTL: how long a crashed coordinator's locks stay taken")
	duration := flag.Duration("duration", 30*time.Second, "give up if the demo has not finished by then")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	if err := run(ctx, os.Stdout, *ttl); err != nil {
		fmt.Fprintln(os.Stderr, "twophase:", err)
		os.Exit(1)
	}
}

// participant is one resource manager. It fences every message by the
// token of the lock lease the coordinator holds on it.
type participant struct {
	name  string
	guard *fence.Guard

	mu        sync.Mutex
	prepared  string // transaction prepared, waiting for commit
	committed []string
}

func (p *participant) lock() string { return "lock/" + p.name }

func (p *participant) prepare(tx string, token uint64) error {
	return p.guard.Do(p.lock(), token, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		// A higher token means the previous lock holder is gone: its
		// prepared transaction can never commit here.
		p.prepared = tx
		return nil
	})
}

func (p *participant) commit(tx string, token uint64) error {
	return p.guard.Do(p.lock(), token, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.prepared != tx {
			return fmt.Errorf("%s: %s is not prepared", p.name, tx)
		}
		p.prepared = ""
		p.committed = append(p.committed, tx)
		return nil
	})
}

// coordinator runs tx over the participants under their lock leases.
type coordinator struct {
	n   *node.Node
	ttl time.Duration
	out func(string, ...any)
}

// lockAll takes every participant's lock, in order.
func (c *coordinator) lockAll(ctx context.Context, ps []*participant) ([]*node.Lease, error) {
	var ls []*node.Lease
	for _, p := range ps {
		l, err := c.n.Acquire(ctx, p.lock(), node.WithTTL(c.ttl))
		if err != nil {
			for _, l := range ls {
				_ = l.Release(ctx)
			}
			return nil, err
		}
		ls = append(ls, l)
		c.out("%s locked %s (token %d)", c.n.Name(), p.name, l.Token())
	}
	return ls, nil
}

func (c *coordinator) prepareAll(tx string, ps []*participant, ls []*node.Lease) error {
	for i, p := range ps {
		if err := p.prepare(tx, ls[i].Token()); err != nil {
			return err
		}
	}
	c.out("%s prepared %s at every participant", c.n.Name(), tx)
	return nil
}

func run(ctx context.Context, w io.Writer, ttl time.Duration) error {
	cl, err := loopback.Start([]string{"n1", "n2", "n3"}, []string{"c1", "c2"}, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	out := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	var ps []*participant
	for _, name := range []string{"p1", "p2", "p3"} {
		ps = append(ps, &participant{name: name, guard: fence.New()})
	}

	c1 := &coordinator{n: cl.Node("c1"), ttl: ttl, out: out}
	ls1, err := c1.lockAll(ctx, ps)
	if err != nil {
		return err
	}
	if err := c1.prepareAll("tx1", ps, ls1); err != nil {
		return err
	}
	if err := cl.Crash("c1"); err != nil {
		return err
	}
	crashed := time.Now()
	out("c1 crashed before committing tx1; nobody releases its locks")

	c2 := &coordinator{n: cl.Node("c2"), ttl: ttl, out: out}
	ls2, err := c2.lockAll(ctx, ps)
	if err != nil {
		return err
	}
	out("c2 got every lock %v after the crash (the TTL is %v)", time.Since(crashed).Round(10*time.Millisecond), ttl)
	rose := true
	for i := range ps {
		rose = rose && ls2[i].Token() > ls1[i].Token()
	}
	if err := c2.prepareAll("tx2", ps, ls2); err != nil {
		return err
	}
	for i, p := range ps {
		if err := p.commit("tx2", ls2[i].Token()); err != nil {
			return err
		}
	}
	out("c2 committed tx2 at every participant")
	for _, l := range ls2 {
		_ = l.Release(ctx)
	}

	// c1's commit, sent just before it crashed, arrives late.
	refused := 0
	for i, p := range ps {
		err := p.commit("tx1", ls1[i].Token())
		if errors.Is(err, fence.ErrStale) {
			refused++
		}
		out("late commit of tx1 at %s with c1's token %d: %v", p.name, ls1[i].Token(), err)
	}
	for _, p := range ps {
		out("%s committed %v", p.name, p.committed)
	}
	out("tokens rose from c1 to c2: %v; late commits refused: %d of %d", rose, refused, len(ps))
	if !rose || refused != len(ps) {
		return errors.New("the crashed coordinator was not fenced out")
	}
	return nil
}

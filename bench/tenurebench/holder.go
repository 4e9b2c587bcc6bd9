package tenurebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tenure-dev/tenure/node"
)

// HolderConfig configures RunHolder, the failover holder process.
type HolderConfig struct {
	// Name is the holder node's name, unique in the cluster.
	Name string
	// Join lists the voters' gossip addresses.
	Join []string
	// Voters is the cluster's voter list.
	Voters []string
	// Lease is the lease name to hold; TTL its TTL.
	Lease string
	TTL   time.Duration
	// MaxTTL must equal the cluster's.
	MaxTTL time.Duration
}

// RunHolder is the failover holder: a non-voter node that joins the
// cluster, acquires cfg.Lease with cfg.TTL, writes "held TOKEN\n" to out,
// and keeps the lease (renewing it) until ctx ends, when it releases it
// and leaves. The failover measurement kills it with SIGKILL instead. It
// returns an error if the lease is lost.
func RunHolder(ctx context.Context, cfg HolderConfig, out io.Writer) error {
	n, err := node.New(node.Config{
		Name: cfg.Name, BindAddr: "127.0.0.1", Join: cfg.Join, Voters: cfg.Voters, MaxTTL: cfg.MaxTTL,
	})
	if err != nil {
		return err
	}
	defer func() { _ = n.Shutdown() }()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := waitRoutes(wctx, n, cfg.Voters); err != nil {
		return err
	}
	l, err := n.Acquire(wctx, cfg.Lease, node.WithTTL(cfg.TTL))
	if err != nil {
		return fmt.Errorf("tenurebench: holder acquire %q: %w", cfg.Lease, err)
	}
	if _, err := fmt.Fprintf(out, "held %d\n", l.Token()); err != nil {
		return err
	}
	select {
	case <-l.Done():
		return fmt.Errorf("tenurebench: holder lost %q: %w", cfg.Lease, l.Err())
	case <-ctx.Done():
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	if err := l.Release(rctx); err != nil && !errors.Is(err, node.ErrReleased) {
		return err
	}
	return n.Leave(rctx)
}

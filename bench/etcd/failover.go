package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/tenure-dev/tenure/bench/benchutil"
)

// failoverPhase: a holder process holds a Mutex on a session of TTL
// FailoverTTL; a waiter here blocks in Lock; the holder gets SIGKILL at a
// random instant within its keep-alive period; the figure is kill to Lock
// returning. WorstMs is the worst run, as on the tenure side.
func (r *runner) failoverPhase(ctx context.Context) error {
	f, err := benchutil.RunFailovers(ctx, r.cfg.FailoverRuns, r.cfg.FailoverTTL, r.failoverOnce, r.logf)
	if err != nil {
		return err
	}
	r.res.Failover = f
	return nil
}

func (r *runner) failoverOnce(ctx context.Context, i int, ttl time.Duration) (time.Duration, error) {
	key := fmt.Sprintf("%sfailover/%d/", r.pfx, i)
	cmd := exec.Command(r.cfg.Binary, "holder", "--endpoints", strings.Join(r.cfg.Endpoints, ","),
		"--key", key, "--ttl", fmt.Sprint(int(r.cfg.FailoverTTL/time.Second)))
	cmd.Stderr = r.cfg.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan struct{})
	lines := benchutil.HolderLines(out)
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	select {
	case l := <-lines:
		if l != "held" {
			return 0, fmt.Errorf("holder said %q", l)
		}
	case <-exited:
		return 0, errors.New("holder exited before holding")
	case <-time.After(30 * time.Second):
		return 0, errors.New("holder did not hold within 30s")
	}

	s, err := concurrency.NewSession(r.cli, concurrency.WithTTL(int(r.cfg.FailoverTTL/time.Second)))
	if err != nil {
		return 0, err
	}
	defer s.Close()
	m := concurrency.NewMutex(s, key)
	// Kill at a random phase of the holder's keep-alive period (TTL/3).
	wait := 300*time.Millisecond + time.Duration(r.rnd.Int64N(int64(ttl/3)))
	_, d, err := benchutil.TimeFailover(ctx, 10*ttl+10*time.Second, wait, func(wctx context.Context) (struct{}, error) {
		return struct{}{}, m.Lock(wctx)
	}, cmd.Process.Kill)
	if err != nil {
		return 0, err
	}
	return d, m.Unlock(ctx)
}

// holdMutex is the failover holder process: Lock on a session of ttl
// seconds, print "held", wait to be killed (or for ctx, then unlock).
func holdMutex(ctx context.Context, endpoints []string, key string, ttl int, out io.Writer) error {
	cli, err := newClient(endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl))
	if err != nil {
		return err
	}
	defer s.Close()
	m := concurrency.NewMutex(s, key)
	lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := m.Lock(lctx); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, "held"); err != nil {
		return err
	}
	select {
	case <-s.Done():
		return errors.New("session expired")
	case <-ctx.Done():
	}
	uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ucancel()
	return m.Unlock(uctx)
}

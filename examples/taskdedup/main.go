// Command taskdedup runs many workers over one shared list of tasks and
// makes sure each task's result is stored exactly once.
//
//	go run ./examples/taskdedup --tasks 40 --workers 6
//
// A worker takes a task by taking the task's lease with TryAcquire: if
// another worker holds it, it moves on. Under the lease it checks the
// result store, does the work, and stores the result with the lease's
// fencing token. The store admits a write only through a fence.Guard and
// only if the task has no result yet, in one step, so:
//
//   - the lease keeps two workers from doing a task at the same time (the
//     work runs once, in the normal case);
//   - the token refuses a worker whose lease ran out while it was stalled
//     (a GC pause, a slow disk) once a later holder has written: the
//     program stalls one worker on purpose to show it;
//   - the "no result yet" check makes the stored result exactly-once even
//     when the work itself ran twice.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenure-dev/tenure/examples/internal/loopback"
	"github.com/tenure-dev/tenure/fence"
	"github.com/tenure-dev/tenure/node"
)

func main() {
	var o options
	flag.IntVar(&o.tasks, "tasks", 40, "number of tasks")
	flag.IntVar(&o.workers, "workers", 6, "number of workers, spread over three nodes")
	flag.DurationVar(&o.ttl, "ttl", 500*time.Millisecond, "task lease TTL")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the workers' task orders and work times")
	duration := flag.Duration("duration", 30*time.Second, "give up if the tasks are not all done by then")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	if err := run(ctx, os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "taskdedup:", err)
		os.Exit(1)
	}
}

type options struct {
	tasks, workers int
	ttl            time.Duration
	seed           uint64
}

// store is the result store: one result per task, written only through
// the fence, which refuses a token lower than one it has admitted.
type store struct {
	guard *fence.Guard

	mu      sync.Mutex
	results map[int]string // task -> worker that stored its result
	writes  map[int]int    // task -> results stored (must end at 1)
	stored  chan int       // each task as its result is stored
}

var errDone = errors.New("task already has a result")

// put stores worker's result for task under token, once.
func (s *store) put(task int, worker string, token uint64) error {
	return s.guard.Do(taskName(task), token, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.results[task]; ok {
			return errDone
		}
		s.results[task] = worker
		s.writes[task]++
		s.stored <- task
		return nil
	})
}

func (s *store) done(task int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.results[task]
	return ok
}

func taskName(task int) string { return fmt.Sprintf("task/%d", task) }

func run(ctx context.Context, w io.Writer, o options) error {
	// Three voters run workers; a fourth node runs the worker that
	// stalls.
	c, err := loopback.Start([]string{"n1", "n2", "n3"}, []string{"n4"}, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	s := &store{guard: fence.New(), results: map[int]string{}, writes: map[int]int{}, stored: make(chan int, o.tasks)}
	var executions, refused, skipped atomic.Int64
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, format+"\n", args...)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()

	// One worker, on n4, takes a task and stalls: its node freezes (we
	// crash it, so it stops renewing) for long enough that the lease runs
	// out at the voters and another worker does the task. Then it resumes
	// and writes, unaware that its lease has ended; the fence refuses the
	// stale token.
	const stalled = "w0@n4"
	sl, err := c.Node("n4").Acquire(ctx, taskName(0), node.WithTTL(o.ttl))
	if err != nil {
		return err
	}
	executions.Add(1)
	say("%s stalls holding %s (token %d); its node stops renewing", stalled, taskName(0), sl.Token())
	if err := c.Crash("n4"); err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !s.done(0) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		say("%s resumes and writes %s with token %d", stalled, taskName(0), sl.Token())
		if err := s.put(0, stalled, sl.Token()); errors.Is(err, fence.ErrStale) {
			refused.Add(1)
			say("%s: stale write refused: %v", stalled, err)
		} else {
			say("%s: stale write NOT refused: %v", stalled, err)
		}
	}()

	for i := range o.workers {
		n := c.Node([]string{"n1", "n2", "n3"}[i%3])
		name := fmt.Sprintf("w%d@%s", i+1, n.Name())
		rng := rand.New(rand.NewPCG(o.seed, uint64(i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				pending := 0
				for _, task := range rng.Perm(o.tasks) {
					if ctx.Err() != nil {
						return
					}
					if s.done(task) {
						continue
					}
					pending++
					l, err := n.TryAcquire(ctx, taskName(task), node.WithTTL(o.ttl))
					if err != nil {
						skipped.Add(1) // another worker has it, or lost a race for it
						continue
					}
					if s.done(task) { // finished between our check and our lease
						_ = l.Release(ctx)
						continue
					}
					executions.Add(1)
					time.Sleep(time.Duration(1+rng.IntN(5)) * time.Millisecond) // the work
					switch err := s.put(task, name, l.Token()); {
					case err == nil:
					case errors.Is(err, fence.ErrStale):
						refused.Add(1)
						say("%s: stale write refused: %v", name, err)
					default:
						say("%s: %s: %v", name, taskName(task), err)
					}
					_ = l.Release(ctx)
				}
				if pending == 0 {
					return
				}
				time.Sleep(time.Duration(1+rng.IntN(10)) * time.Millisecond) // tasks held by others: look again soon
			}
		}()
	}
	for range o.tasks {
		select {
		case <-s.stored:
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d tasks done: %w", len(s.results), o.tasks, ctx.Err())
		}
	}
	wg.Wait() // the stalled worker's write, too

	once := true
	for task := range o.tasks {
		if s.writes[task] != 1 {
			once = false
			say("task %d stored %d times", task, s.writes[task])
		}
	}
	say("%d tasks, %d results, each stored exactly once: %v; work ran %d times; stale writes refused: %d; busy tasks skipped: %d",
		o.tasks, len(s.results), once, executions.Load(), refused.Load(), skipped.Load())
	if refused.Load() != 1 {
		return errors.New("the stalled worker's write was not refused")
	}
	if !once {
		return errors.New("a task was not stored exactly once")
	}
	return nil
}

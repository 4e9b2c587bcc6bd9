package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/protocol"
)

func init() {
	register("watch", "print each change of a lease's holder", runWatch)
}

const watchAbout = `
Streams the holder changes of lease NAME through the agent
(GET /v1/leases/NAME?watch=1) and prints one line per change: a new
tenure (node, token, value, remaining) or a vacancy. Changes come from the
holders' gossip announcements and from polling the voters: they are hints
(only the holder knows), and a vacancy is reported at the latest when the
known tenure would have expired.

Runs until Ctrl-C, --duration, or the agent goes away.

Exit status: 0, 1 if the agent could not be reached or the stream broke,
2 for bad usage.`

func runWatch(args []string, stdout, stderr io.Writer) int {
	var url, tokenFile string
	var asJSON bool
	var duration time.Duration
	f := newCmdFlags("watch", "tenure watch [flags] NAME", watchAbout)
	addAgentFlags(f, &url, &tokenFile)
	f.BoolVar(&asJSON, "json", false, "print each change as the agent's JSON line")
	f.DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.NArg() != 1 {
		return f.fail(stderr, "want exactly one lease NAME, got %d arguments", f.NArg())
	}
	name := f.Arg(0)
	if err := api.CheckName(name); err != nil {
		return f.fail(stderr, "%v", err)
	}
	client, err := f.newClient(url, tokenFile)
	if err != nil {
		return f.fail(stderr, "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	enc := json.NewEncoder(stdout)
	err = client.Watch(ctx, name, func(h api.HolderHint) bool {
		if asJSON {
			_ = enc.Encode(h)
			return true
		}
		fmt.Fprintln(stdout, describeChange(time.Now(), name, h))
		return true
	})
	if err != nil && ctx.Err() == nil && api.StatusOf(err) == http.StatusBadRequest {
		return f.fail(stderr, "the agent refused the request: %v", err) // bad usage, like a bad flag
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "tenure watch: %s: %v\n", url, err)
		return 1
	}
	return 0
}

// describeChange is one human line for a holder change. The lease and
// node names are shown through api.QuoteName, so that an invisible or
// bidi character cannot make one display as another.
func describeChange(now time.Time, name string, h api.HolderHint) string {
	at := now.Format("15:04:05.000")
	name = api.QuoteName(name)
	if h.Vacant || h.Node == "" {
		return fmt.Sprintf("%s  %s: vacant (hint)", at, name)
	}
	era, round := protocol.TokenBallot(h.Token)
	line := fmt.Sprintf("%s  %s: held by %s, token %d (era %d, round %d), %s left (hint)",
		at, name, api.QuoteName(h.Node), h.Token, era, round, time.Duration(h.RemainingMS)*time.Millisecond)
	if h.Value != "" {
		line += fmt.Sprintf(", value %q", h.Value)
	}
	return line
}

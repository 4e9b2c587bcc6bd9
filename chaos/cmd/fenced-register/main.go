// Command fenced-register serves package chaos/register over HTTP: the
// resource the chaos test's clients write with their fencing tokens. It is
// part of the chaos harness, not of the product: the chaos test builds it
// (go build ./chaos/cmd/fenced-register) and starts it in a network
// namespace of its own.
//
//	fenced-register --data FILE [--listen host:port] [--unsafe-no-fence]
//
// --unsafe-no-fence turns the fence off (register.Options.UnsafeNoFence):
// the broken resource TestChaosDetectsBrokenFence must catch.
//
// It runs until SIGINT or SIGTERM. Exit status: 0 after a signal, 1 on an
// error, 2 for bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/chaos/register"
)

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args and serves the register until ctx ends; it returns the
// exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fenced-register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:7700", "HTTP listen address `host:port`; port 0 picks a free one")
	data := fs.String("data", "", "value `file` (required); the token floor lives in FILE.tokens")
	unsafeNoFence := fs.Bool("unsafe-no-fence", false, "accept stale writes: the broken resource the chaos test must catch")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: fenced-register --data FILE [--listen host:port] [--unsafe-no-fence]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage // the flag package printed the error and the usage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fenced-register: %s\n", fmt.Sprintf(format, a...))
		fs.Usage()
		return exitUsage
	}
	if fs.NArg() != 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *data == "" {
		return usageErr("--data is required")
	}
	srv, err := register.Open(*data, register.Options{UnsafeNoFence: *unsafeNoFence})
	if err != nil {
		fmt.Fprintln(stderr, "fenced-register:", err)
		return exitFail
	}
	defer func() { _ = srv.Close() }()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "fenced-register:", err)
		return exitFail
	}
	if *unsafeNoFence {
		fmt.Fprintln(stderr, "fenced-register: WARNING: --unsafe-no-fence: stale writes are accepted")
	}
	fmt.Fprintf(stdout, "fenced-register: listening on %s, data %s\n", ln.Addr(), *data)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "fenced-register:", err)
		return exitFail
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "fenced-register: shutdown:", err)
		return exitFail
	}
	return exitOK
}

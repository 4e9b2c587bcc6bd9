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

	fencedreg "github.com/tenure-dev/tenure/chaos/register"
)

func init() {
	register("fenced-register", "serve a fenced key/value register (the chaos test's resource)", runFencedRegister)
}

// runFencedRegister wires flags to package chaos/register and serves until
// SIGINT or SIGTERM.
func runFencedRegister(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fenced-register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:7700", "HTTP listen address (host:port)")
	data := fs.String("data", "", "value file (required); the token floor lives in FILE.tokens")
	// Hidden: the deliberately broken build the chaos test must catch.
	unsafeNoFence := fs.Bool("unsafe-no-fence", false, "")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: tenure fenced-register --listen ADDR --data FILE")
		fmt.Fprintln(stderr, "\nServes GET/PUT /v1/keys/{key}; a PUT needs a Fencing-Token header and is fenced by")
		fmt.Fprintln(stderr, "the lease named by the key (a Lease-Name header, if sent, must equal the key); it is")
		fmt.Fprintln(stderr, "refused (409) if its token is below the highest accepted for that lease.")
		fmt.Fprintln(stderr, "Every accepted write is fsynced before the answer.\n\nFlags:")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name != "unsafe-no-fence" {
				fmt.Fprintf(stderr, "  --%s\t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
			}
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *data == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	srv, err := fencedreg.Open(*data, fencedreg.Options{UnsafeNoFence: *unsafeNoFence})
	if err != nil {
		fmt.Fprintln(stderr, "tenure fenced-register:", err)
		return 1
	}
	defer func() { _ = srv.Close() }()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "tenure fenced-register:", err)
		return 1
	}
	if *unsafeNoFence {
		fmt.Fprintln(stderr, "tenure fenced-register: WARNING: --unsafe-no-fence: stale writes are accepted")
	}
	fmt.Fprintf(stdout, "tenure fenced-register: listening on %s, data %s\n", ln.Addr(), *data)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "tenure fenced-register:", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "tenure fenced-register: shutdown:", err)
		return 1
	}
	return 0
}

package main

import (
	"context"
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

const fencedRegisterAbout = `
Serves GET/PUT /v1/keys/{key}; a PUT needs a Fencing-Token header and is
fenced by the lease named by the key (a Lease-Name header, if sent, must
equal the key); it is refused (409) if its token is below the highest
accepted for that lease. Every accepted write is fsynced before the answer.

Runs until SIGINT or SIGTERM. Exit status: 0 after a signal, 1 on an
error, 2 for bad usage.`

// runFencedRegister wires flags to package chaos/register and serves until
// SIGINT or SIGTERM.
func runFencedRegister(args []string, stdout, stderr io.Writer) int {
	f := newCmdFlags("fenced-register", "tenure fenced-register --data FILE [flags]", fencedRegisterAbout)
	listen := f.String("listen", "127.0.0.1:7700", "HTTP listen address `host:port`")
	data := f.String("data", "", "value `file` (required); the token floor lives in FILE.tokens")
	// Hidden: the deliberately broken build the chaos test must catch.
	unsafeNoFence := f.Bool("unsafe-no-fence", false, "accept stale writes (the chaos test's broken resource)")
	f.hide("unsafe-no-fence")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.fail(stderr, "unexpected argument %q", f.Arg(0))
	}
	if *data == "" {
		return f.fail(stderr, "--data is required")
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

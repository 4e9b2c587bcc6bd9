package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tenure-dev/tenure/agent"
	"github.com/tenure-dev/tenure/node"
)

func init() {
	register("agent", "run a node and serve the HTTP lease API", runAgent)
}

// agentOpts are the parsed and checked flags of tenure agent.
type agentOpts struct {
	name, bind, httpAddr string
	join, voters         stringList
	dataDir, keyfile     string
	tokenFile, readyFile string
	tlsCert, tlsKey      string
	tls                  *tls.Config // from --http-tls-cert and --http-tls-key
	cluster              string
	newCluster, restored bool
	insecure             bool
	ttl, maxTTL          time.Duration
	joinTimeout          time.Duration
	logFormat, logLevel  string
	bindHost             string
	bindPort             int
	key                  []byte
	token                string
	level                slog.Level
	shutdownTimeout      time.Duration
	maxConns, maxWatches int
	maxHolds             int
	readTimeout          time.Duration
	warnings             []string // logged once the logger exists
}

const agentAbout = `
Runs one tenure node (gossip over UDP/TCP on --bind) and serves the HTTP
lease API on --http. Every node of a cluster must be given the same
--cluster, the same --voters list and --max-ttl, and the same key.
--voters is the list the cluster started with: once the voters are
changed online (tenure voters), a node learns the adopted configuration
from its peers and keeps it in its data dir, which rules over the flag;
start new nodes with the cluster's initial list too.

Safety: the agent refuses to serve HTTP on a non-loopback address without
--http-token-file, and to bind gossip on a non-loopback address without
--keyfile unless --insecure is given. A voter should have a --data-dir:
without one every restart counts as a crash (a quarantine of about
--max-ttl) and fencing tokens may go backwards after a majority of voters
restart. Never wipe a voter's data dir. The first start of a new cluster
passes --new-cluster on every node: without it an empty data dir counts
as a replaced disk and sits out the quarantine. After restoring a data
dir from a backup, start once with --restored. A data dir is locked while
in use and bound to its --cluster and --name; a second process with a
name already in the cluster exits 1.

Without --http-token-file the API trusts every local process, and
refuses what a web page can make a browser send: a Host other than
localhost or an IP address (421), an Origin header (403), a body not sent
as Content-Type: application/json (415). A --keyfile or --http-token-file
that other users may write is refused.

TLS: with --http-tls-cert and --http-tls-key the API is served over
HTTPS only (a plain http:// request gets 400); clients give the CA that
signed the certificate (tenure status --agent https://HOST:7947 --ca
ca.pem). TLS encrypts and authenticates the agent; --http-token-file still
decides who may call it.

Limits: a request has --http-read-timeout to send its headers, and again
its body (408 after). At most --http-max-conns connections are open at
once (lowered to fit the open-file limit, keeping descriptors for gossip;
the log says the figures); more are answered 503 at once. At most
--http-max-watches watch streams and --http-max-holds hold-mode acquires
run at once (503 after).

On SIGTERM or SIGINT it stops taking requests and releases nothing: its
clients keep their leases until their own deadlines, and the voters let
the leases expire (a waiter elsewhere gets one about a TTL later). It
leaves the cluster (writing the clean-shutdown state, so a restart needs
no quarantine) and exits 0. Exit status 2: bad flags or configuration (a data
dir of another node or cluster included). Exit status 1: the node could
not start or stopped on an error (its data dir in use by another process,
its name held by a live member, a storage error).`

func newAgentFlags(o *agentOpts) *cmdFlags {
	host, _ := os.Hostname()
	f := newCmdFlags("agent", "tenure agent --voters A,B,C [flags]", agentAbout)
	f.StringVar(&o.name, "name", host, "this node's name, unique in the cluster")
	f.StringVar(&o.bind, "bind", "0.0.0.0:7946", "gossip address `host:port` (UDP and TCP); port 0 picks a free one")
	f.Var(&o.join, "join", "`host:port` of a member to join (repeatable or comma-separated)")
	f.DurationVar(&o.joinTimeout, "join-timeout", 30*time.Second, "keep trying --join, with backoff, this long while no member answers; 0 tries once")
	f.Var(&o.voters, "voters", "the initial voter node names, comma-separated, identical on every node (changed online with tenure voters)")
	f.require("voters")
	f.StringVar(&o.dataDir, "data-dir", "", "`dir` for the durable era floor and clean-shutdown state")
	f.StringVar(&o.cluster, "cluster", node.DefaultClusterID, "cluster `ID`, the same on every node; binds the data dir at its first start")
	f.BoolVar(&o.newCluster, "new-cluster", false, "this is the first start of a new cluster: an empty data dir needs no quarantine")
	f.BoolVar(&o.restored, "restored", false, "the data dir was restored from a backup or copy: start as after a crash (quarantine)")
	f.StringVar(&o.keyfile, "keyfile", "", "`file` holding the base64 cluster key (16, 24 or 32 bytes) that encrypts gossip (refused if other users may write it)")
	f.BoolVar(&o.insecure, "insecure", false, "allow unencrypted gossip on a non-loopback address")
	f.StringVar(&o.httpAddr, "http", "127.0.0.1:7947", "HTTP API address `host:port`; port 0 picks a free one")
	f.StringVar(&o.tokenFile, "http-token-file", "", "`file` holding the bearer token every API call must send (refused if other users may write it)")
	f.StringVar(&o.tlsCert, "http-tls-cert", "", "PEM `file` of the certificate (chain) to serve the API over TLS with; needs --http-tls-key")
	f.StringVar(&o.tlsKey, "http-tls-key", "", "PEM `file` of the private key of --http-tls-cert (refused if other users may write it)")
	f.IntVar(&o.maxConns, "http-max-conns", agent.DefaultMaxConns, "most HTTP connections open at once; more get 503 (lowered to fit the open-file limit)")
	f.IntVar(&o.maxWatches, "http-max-watches", agent.DefaultMaxWatches, "most watch streams (GET ?watch=1) at once; more get 503")
	f.IntVar(&o.maxHolds, "http-max-holds", agent.DefaultMaxHolds, "most hold-mode acquires (waiting or streaming) at once; more get 503")
	f.DurationVar(&o.readTimeout, "http-read-timeout", agent.DefaultReadTimeout, "how long a client may take to send a request's headers, and again its body (408 after)")
	f.DurationVar(&o.ttl, "ttl", node.DefaultTTL, "default lease TTL")
	f.DurationVar(&o.maxTTL, "max-ttl", node.DefaultMaxTTL, "longest TTL a client may ask for; sets a crashed voter's quarantine; same on every node")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.readyFile, "ready-file", "", "write the actual addresses as JSON to `file` once serving")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 5*time.Second, "how long SIGTERM may take to end hold streams and leave")
	return f
}

// readyInfo is what --ready-file receives: the addresses actually bound.
type readyInfo struct {
	Name   string `json:"name"`
	Gossip string `json:"gossip"`
	HTTP   string `json:"http"`
	PID    int    `json:"pid"`
}

func runAgent(args []string, stdout, stderr io.Writer) int {
	var o agentOpts
	f := newAgentFlags(&o)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.NArg() > 0 {
		return f.fail(stderr, "unexpected argument %q", f.Arg(0))
	}
	if err := o.check(); err != nil {
		return f.fail(stderr, "%v", err)
	}
	hopts := &slog.HandlerOptions{Level: o.level}
	var h slog.Handler = slog.NewTextHandler(stderr, hopts)
	if o.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, hopts)
	}
	log := slog.New(h)
	for _, w := range o.warnings {
		log.Warn(w)
	}
	maxConns, nofile, err := httpConnCap(o.maxConns)
	if err != nil {
		return f.fail(stderr, "%v", err)
	}
	if maxConns < o.maxConns {
		log.Warn("lowering --http-max-conns to fit the open-file limit", "asked", o.maxConns, "max_conns", maxConns,
			"open_file_limit", nofile, "kept_for_gossip_and_storage", reservedFDs)
	}

	// node.New validates its configuration before it touches anything: a
	// bad value changes nothing and exits 2 like a bad flag.
	n, err := node.New(o.nodeConfig(log))
	if err != nil {
		if errors.Is(err, node.ErrConfig) {
			return f.fail(stderr, "%s", nodeConfigError(err))
		}
		fmt.Fprintf(stderr, "tenure agent: %v\n", err)
		return 1
	}
	ag, err := agent.New(agent.Config{
		Node: n, Token: o.token, Logger: log,
		ReadTimeout: o.readTimeout, MaxConns: maxConns, MaxWatches: o.maxWatches, MaxHolds: o.maxHolds,
	})
	if err != nil {
		_ = n.Shutdown()
		fmt.Fprintf(stderr, "tenure agent: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", o.httpAddr)
	if err != nil {
		_ = n.Shutdown()
		fmt.Fprintf(stderr, "tenure agent: --http %s: %v\n", o.httpAddr, err)
		return 1
	}
	srv := ag.HTTPServer(slog.NewLogLogger(h, slog.LevelWarn))
	served := make(chan error, 1)
	scheme := "http://"
	if o.tls != nil {
		scheme = "https://"
		srv.TLSConfig = o.tls
		go func() { served <- srv.ServeTLS(ag.Listener(ln), "", "") }()
	} else {
		go func() { served <- srv.Serve(ag.Listener(ln)) }()
	}

	info := readyInfo{Name: o.name, Gossip: n.Addr(), HTTP: scheme + ln.Addr().String(), PID: os.Getpid()}
	log.Info("agent ready", "node", info.Name, "gossip", info.Gossip, "http", info.HTTP,
		"voters", strings.Join(o.voters, ","), "cluster", o.cluster, "auth", o.token != "", "tls", o.tls != nil, "data_dir", o.dataDir)
	log.Info("HTTP limits", "max_conns", maxConns, "open_file_limit", nofile, "kept_for_gossip_and_storage", reservedFDs,
		"max_watches", o.maxWatches, "max_holds", o.maxHolds, "read_timeout", o.readTimeout)
	if o.readyFile != "" {
		if err := writeReadyFile(o.readyFile, info); err != nil {
			log.Error("cannot write the ready file", "file", o.readyFile, "err", err)
		}
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	code := 0
	select {
	case s := <-sigs:
		log.Info("stopping: clients keep their leases until their deadlines; leaving the cluster", "signal", s.String())
	case err := <-served:
		log.Error("HTTP server failed", "err", err)
		code = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := ag.Close(ctx); err != nil {
		log.Warn("ending hold streams took too long", "err", err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("HTTP shutdown", "err", err)
		_ = srv.Close()
	}
	if err := n.Leave(ctx); err != nil {
		log.Error("leave", "err", err)
		code = 1
	}
	log.Info("stopped")
	return code
}

// writeReadyFile writes info atomically, so a reader never sees half.
func writeReadyFile(path string, info readyInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ready-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

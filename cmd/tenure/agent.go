package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
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
	f.Var(&o.voters, "voters", "the voter node names, comma-separated, identical on every node (required)")
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

// check validates the flags and reads the key and token files. Every
// error names the flag.
func (o *agentOpts) check() error {
	if o.name == "" {
		return errors.New("--name is empty")
	}
	if len(o.voters) == 0 {
		return errors.New("--voters is required (the same comma-separated list on every node)")
	}
	host, port, err := net.SplitHostPort(o.bind)
	if err != nil {
		return fmt.Errorf("--bind %q: %v", o.bind, err)
	}
	if net.ParseIP(host) == nil {
		return fmt.Errorf("--bind %q: host must be an IP address", o.bind)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("--bind %q: bad port", o.bind)
	}
	o.bindHost, o.bindPort = host, p
	if _, _, err := net.SplitHostPort(o.httpAddr); err != nil {
		return fmt.Errorf("--http %q: %v", o.httpAddr, err)
	}
	if o.keyfile != "" {
		b, warn, err := readSecretFile("--keyfile", o.keyfile)
		if err != nil {
			return err
		}
		o.warnings = append(o.warnings, warn...)
		o.key, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return fmt.Errorf("--keyfile %s: not base64: %v", o.keyfile, err)
		}
		if n := len(o.key); n != 16 && n != 24 && n != 32 {
			return fmt.Errorf("--keyfile %s: key is %d bytes; want 16, 24 or 32 (e.g. head -c 32 /dev/urandom | base64)", o.keyfile, n)
		}
	}
	if o.tokenFile != "" {
		b, warn, err := readSecretFile("--http-token-file", o.tokenFile)
		if err != nil {
			return err
		}
		o.warnings = append(o.warnings, warn...)
		if o.token = strings.TrimSpace(string(b)); o.token == "" {
			return fmt.Errorf("--http-token-file %s is empty", o.tokenFile)
		}
	}
	if err := o.loadTLS(); err != nil {
		return err
	}
	if !isLoopback(o.httpAddr) && o.token == "" {
		return fmt.Errorf("--http %s is not a loopback address: refusing to serve the API without --http-token-file", o.httpAddr)
	}
	if !isLoopback(o.bind) && o.key == nil && !o.insecure {
		return fmt.Errorf("--bind %s is not a loopback address: refusing unencrypted gossip without --keyfile (or --insecure)", o.bind)
	}
	switch o.logFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}
	if err := o.level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	if o.ttl <= 0 || o.maxTTL <= 0 {
		return fmt.Errorf("--ttl %v and --max-ttl %v must be positive", o.ttl, o.maxTTL)
	}
	if o.ttl > o.maxTTL {
		return fmt.Errorf("--ttl %v is above --max-ttl %v", o.ttl, o.maxTTL)
	}
	for _, l := range []struct {
		flag string
		v    int
	}{{"--http-max-conns", o.maxConns}, {"--http-max-watches", o.maxWatches}, {"--http-max-holds", o.maxHolds}} {
		if l.v < 1 {
			return fmt.Errorf("%s %d: want at least 1", l.flag, l.v)
		}
	}
	if o.readTimeout <= 0 {
		return fmt.Errorf("--http-read-timeout %v must be positive", o.readTimeout)
	}
	return nil
}

// loadTLS reads --http-tls-cert and --http-tls-key (both or neither) into
// o.tls. The key is read as the token file is: refused if other users may
// write it.
func (o *agentOpts) loadTLS() error {
	switch {
	case o.tlsCert == "" && o.tlsKey == "":
		return nil
	case o.tlsCert == "":
		return errors.New("--http-tls-key needs --http-tls-cert")
	case o.tlsKey == "":
		return errors.New("--http-tls-cert needs --http-tls-key")
	}
	certPEM, err := os.ReadFile(o.tlsCert)
	if err != nil {
		return fmt.Errorf("--http-tls-cert: %v", err)
	}
	keyPEM, warn, err := readSecretFile("--http-tls-key", o.tlsKey)
	if err != nil {
		return err
	}
	o.warnings = append(o.warnings, warn...)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("--http-tls-cert %s, --http-tls-key %s: %v", o.tlsCert, o.tlsKey, err)
	}
	o.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return nil
}

// readSecretFile reads the key or token file of flag, refusing one that
// users other than its owner may write (following a symbolic link to the
// file it names), as ssh refuses such keys: whoever can change it chooses
// the cluster key or the API token. It warns of one that others may read.
func readSecretFile(flag, path string) (b []byte, warnings []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", flag, err)
	}
	defer f.Close()
	fi, err := f.Stat() // the file opened, after any link
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %v", flag, path, err)
	}
	name := path
	if target, err := filepath.EvalSymlinks(path); err == nil && target != filepath.Clean(path) {
		name = path + " (a link to " + target + ")"
	}
	switch perm := fi.Mode().Perm(); {
	case !fi.Mode().IsRegular():
		return nil, nil, fmt.Errorf("%s %s is not a regular file", flag, name)
	case perm&0o022 != 0:
		return nil, nil, fmt.Errorf("%s %s has mode %04o: other users may change it; refusing it (chmod go-w, or better chmod 600)", flag, name, perm)
	case perm&0o044 != 0:
		warnings = append(warnings, fmt.Sprintf("%s %s has mode %04o: other users may read the secret in it (chmod 600)", flag, name, perm))
	}
	b, err = io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %v", flag, name, err)
	}
	return b, warnings, nil
}

// isLoopback reports whether a host:port names only loopback interfaces.
func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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

	n, err := node.New(node.Config{
		Name: o.name, BindAddr: o.bindHost, BindPort: o.bindPort, Join: o.join, Voters: o.voters,
		DataDir: o.dataDir, SecretKey: o.key, DefaultTTL: o.ttl, MaxTTL: o.maxTTL, Logger: log,
		ClusterID: o.cluster, NewCluster: o.newCluster, Restored: o.restored, JoinTimeout: o.joinTimeout,
	})
	if err != nil {
		if errors.Is(err, node.ErrConfig) {
			return f.fail(stderr, "%v", err)
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

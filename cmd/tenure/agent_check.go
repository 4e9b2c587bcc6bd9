package main

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/node"
	"github.com/tenure-dev/tenure/protocol"
)

// One validator: what node.Config describes (the node's name, its gossip
// address, the voters, the cluster key's length, the cluster ID, the TTLs,
// --new-cluster with --restored, the data dir's identity) is checked by
// node.New alone, before it touches anything, and its errors are shown
// with the flags behind the fields they name (nodeConfigError). check
// validates only what the node never sees: the HTTP side, the files the
// flags name, the exposure policy, the logging flags.

// check validates the agent-only flags, reads the key, token and TLS
// files, and splits --bind into the node's address and port. Every error
// names the flag. What node.Config covers is left to node.New.
func (o *agentOpts) check() error {
	host, port, err := net.SplitHostPort(o.bind)
	if err != nil {
		return fmt.Errorf("--bind %q: %v", o.bind, err)
	}
	if o.bindPort, err = strconv.Atoi(port); err != nil {
		return fmt.Errorf("--bind %q: port %q is not a number", o.bind, port)
	}
	o.bindHost = host
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
		// An empty key is no key to node.Config (plaintext gossip): an
		// empty file must not pass for one.
		if len(o.key) == 0 {
			return fmt.Errorf("--keyfile %s holds no key (e.g. head -c 32 /dev/urandom | base64 > %s)", o.keyfile, o.keyfile)
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
	// node.Config reads a zero TTL as "the default"; these flags show their
	// default, so a 0 given here is a mistake, not a request for it.
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--ttl", o.ttl}, {"--max-ttl", o.maxTTL}} {
		if d.v == 0 {
			return fmt.Errorf("%s 0: want a positive duration (tenure agent --help shows the default)", d.flag)
		}
	}
	// The agent's limits are checked here, not by agent.New: that runs
	// after the node has started, and for it 0 means the default.
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

// nodeConfig is the node's configuration from the checked flags; node.New
// validates it.
func (o *agentOpts) nodeConfig(log *slog.Logger) node.Config {
	return node.Config{
		Name: o.name, BindAddr: o.bindHost, BindPort: o.bindPort, Join: o.join, Voters: o.voters,
		DataDir: o.dataDir, SecretKey: o.key, DefaultTTL: o.ttl, MaxTTL: o.maxTTL, Logger: log,
		ClusterID: o.cluster, NewCluster: o.newCluster, Restored: o.restored, JoinTimeout: o.joinTimeout,
	}
}

// nodeFieldFlags names the flag behind each node.Config field (and each
// protocol.Config field node hands it on as) that node's errors name.
var nodeFieldFlags = []struct{ field, flag string }{
	{"Name", "--name"}, {"Self", "--name"},
	{"BindAddr", "--bind"}, {"BindPort", "--bind"},
	{"Voters", "--voters"},
	{"DataDir", "--data-dir"},
	{"SecretKey", "--keyfile"},
	{"ClusterID", "--cluster"}, {"Cluster", "--cluster"},
	{"DefaultTTL", "--ttl"}, {"MaxTTL", "--max-ttl"},
	{"JoinTimeout", "--join-timeout"},
	{"NewCluster", "--new-cluster"}, {"Restored", "--restored"},
}

// nodeConfigError is a configuration error of node.New (node.ErrConfig)
// as the agent prints it: without the package prefixes, and followed by
// the flags behind the fields it names, e.g. "DefaultTTL 1ms outside
// [MinTTL 50ms, MaxTTL 1m0s] (DefaultTTL is --ttl, MaxTTL is --max-ttl)".
func nodeConfigError(err error) string {
	msg := strings.TrimPrefix(err.Error(), node.ErrConfig.Error()+": ")
	msg = strings.TrimPrefix(msg, protocol.ErrConfig.Error()+": ")
	var named []string
	for _, ff := range nodeFieldFlags {
		if containsWord(msg, ff.field) {
			named = append(named, ff.field+" is "+ff.flag)
		}
	}
	if len(named) == 0 {
		return msg
	}
	return msg + " (" + strings.Join(named, ", ") + ")"
}

// containsWord reports whether word occurs in s with no letter or digit
// right before or after it ("MaxTTL" in "[MinTTL 50ms, MaxTTL 1m]", but
// "Cluster" not in "ClusterID").
func containsWord(s, word string) bool {
	isWordByte := func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
	}
	for i := 0; i+len(word) <= len(s); {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(word)
		if (j == 0 || !isWordByte(s[j-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		i = j + 1
	}
	return false
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

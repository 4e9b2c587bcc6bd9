package node

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/hashicorp/memberlist"

	"github.com/tenure-dev/tenure/protocol"
)

// Defaults of Config fields left at their zero value.
const (
	// DefaultBindAddr is the address a node binds when BindAddr is empty.
	DefaultBindAddr = "0.0.0.0"
	// DefaultLabel is the memberlist cluster label when Label is empty.
	DefaultLabel = "tenure"
	// DefaultClusterID is the cluster ID when ClusterID is empty.
	DefaultClusterID = "tenure"
	// DefaultMaxDrift is the assumed clock-rate error ε when MaxDrift is
	// zero: 1e-3 (1000 ppm), ten times a typical quartz oscillator.
	DefaultMaxDrift = protocol.DefaultMaxDrift
	// DefaultTTL is the lease TTL when DefaultTTL is zero and a request names
	// none.
	DefaultTTL = protocol.DefaultTTL
	// DefaultMaxTTL is the longest TTL a request may ask for when MaxTTL is
	// zero. It sets the quarantine of a voter restarted after a crash (R9).
	DefaultMaxTTL = protocol.DefaultMaxTTL
)

// Config configures a Node. The zero value of every optional field means
// its documented default. Every node of a cluster must agree on ClusterID,
// Voters, MaxDrift, Label and SecretKey, and should on MaxTTL.
type Config struct {
	// Name is this node's name, unique in the cluster (at most 128 bytes of
	// UTF-8). It is the node's identity in votes (R2): two live nodes with
	// one name break the protocol, so New refuses to run a second one
	// (ErrDuplicateName, R18). A process that replaces another under its
	// name at a new address (a new machine) is refused while gossip still
	// sees the old one alive (a few seconds after it stopped answering),
	// and reached by the others once the old one left cleanly (Leave) or
	// has been declared dead for 10 seconds; a restart on the same
	// address is let in at once. Required.
	Name string
	// BindAddr is the IP address to bind for UDP and TCP. Default
	// DefaultBindAddr ("0.0.0.0", in which case the node advertises a
	// private address of the host). Ignored when Transport is set.
	BindAddr string
	// BindPort is the port to bind, UDP and TCP; 0 picks a free port (see
	// Node.Addr). Ignored when Transport is set.
	BindPort int
	// Join lists "host:port" addresses of existing members. Empty starts a
	// new cluster. New fails if none of them can be reached within
	// JoinTimeout.
	Join []string
	// JoinTimeout is how long New keeps trying Join, with backoff (0.2 s
	// doubling to 2 s), while none of the addresses answers: members may
	// start in any order. Zero tries once. A New that fails leaves the data
	// dir as it found it (but for the boot counter, which only rises): the
	// node answered nothing, so it promised nothing. Negative is invalid.
	JoinTimeout time.Duration
	// Voters names the acceptor nodes: a fixed list, identical on every node
	// (R1). A lease is granted by a strict majority of it, whatever gossip
	// says about who is alive. Odd sizes are recommended: 3 tolerates one
	// failed voter, 5 tolerates two. Required; this node may or may not be
	// in it.
	Voters []string
	// DataDir keeps the durable era floor, the clean-shutdown state and
	// the files that bind it to this node (see the package doc, "Durable
	// state"). It is locked while the node runs (ErrDataDirInUse), and
	// refused if it belongs to another node or cluster. A voter with a
	// DataDir restarts after Leave without quarantine and keeps every
	// promise it made. "" means no durable state: every start counts as a
	// crash (a quarantine of about MaxTTL before a voter answers), a
	// voter's era is seeded from the wall clock (a non-voter starts at era
	// 1, raised by the voters' first answer), and fencing tokens may go
	// backwards after a majority of voters restart (R12). Wiping a voter's
	// DataDir is as unsafe as losing a Paxos acceptor's disk: an empty
	// DataDir is taken as a crash unless NewCluster says otherwise.
	DataDir string
	// ClusterID names the cluster (at most 64 bytes of letters, digits,
	// '.', '_' and '-'). Default DefaultClusterID. With the voter list it
	// forms the identity every protocol datagram carries: nodes of another
	// ClusterID or another voter list are refused and reported (R17). The
	// DataDir is bound to it at its first start.
	ClusterID string
	// NewCluster says this start creates a new cluster (like etcd's
	// --initial-cluster-state new): only then does an empty DataDir start
	// without a quarantine. Without it an empty DataDir counts as a crash,
	// because it may be the replaced disk of a voter that promised and
	// accepted before (R18). It is ignored (logged) when the DataDir is not
	// empty. Set it only when the whole cluster is new; never on a node
	// that replaces a voter.
	NewCluster bool
	// Restored forces a crashed start (era bump, quarantine) even if the
	// DataDir holds a clean-shutdown state: set it for the first start
	// after restoring a DataDir from a backup or a copy, whose state may
	// be older than what this voter promised since (R18).
	Restored bool
	// SecretKey, if set, encrypts and authenticates all cluster traffic
	// (AES-GCM); it must be 16, 24 or 32 bytes. nil sends plaintext. Every
	// node must use the same key.
	SecretKey []byte
	// MaxDrift is ε, the largest clock-rate error assumed for every node's
	// clock: local elapsed time within [1-ε, 1+ε] of real elapsed time.
	// Default DefaultMaxDrift. Setting it below the clocks' real drift
	// breaks exclusion (R8).
	MaxDrift float64
	// DefaultTTL is the TTL of a request without WithTTL. Default
	// DefaultTTL; it must lie in [50ms, MaxTTL].
	DefaultTTL time.Duration
	// MaxTTL is the longest TTL a request may ask for. Default
	// DefaultMaxTTL. A voter refuses a TTL (or lock delay) above its own
	// MaxTTL, so nodes may differ while a change rolls out: raise it on the
	// voters first, lower it on the clients first. It bounds the
	// quarantine of a voter that restarts after a crash or without a
	// DataDir (about MaxTTL); with a DataDir that quarantine covers the
	// largest MaxTTL the node ever ran with, and the longest TTL plus lock
	// delay it ever granted (R19).
	MaxTTL time.Duration
	// RetryInterval is how long the node waits for voters' answers before
	// it sends a request again to those that have not answered. Default
	// 20ms, right for a LAN and a few leases; a node renewing thousands of
	// leases at once wants more (say 100ms), or its resends pile onto the
	// answers still on their way.
	RetryInterval time.Duration
	// Label binds every packet to this cluster: nodes with another label
	// drop it. Default DefaultLabel.
	Label string
	// Transport, if set, replaces memberlist's UDP/TCP transport (for
	// custom networks and fault-injecting tests); BindAddr and BindPort are
	// then ignored, and protocol datagrams travel as memberlist user
	// messages (no direct path). The node shuts it down.
	Transport memberlist.Transport
	// MemberlistDatagrams sends this node's protocol datagrams as
	// memberlist user messages, as versions before the direct path did,
	// instead of straight to each peer's UDP socket. The direct path
	// (the default) carries the same label and encryption as memberlist's
	// packets and costs the receiver one goroutine hand-off per datagram
	// instead of four. For comparisons; the node receives both kinds
	// either way.
	MemberlistDatagrams bool
	// Logger receives the node's and memberlist's logs. nil discards them.
	Logger *slog.Logger
	// Clock is the node's local clock (github.com/benbjohnson/clock). nil
	// means the real clock. All the node's instants and timers use it;
	// memberlist itself always uses real time.
	Clock clock.Clock
}

// withDefaults returns a copy of c with defaults filled in and the slices
// copied, so that the caller may reuse its own.
func (c Config) withDefaults() Config {
	if c.BindAddr == "" {
		c.BindAddr = DefaultBindAddr
	}
	if c.Label == "" {
		c.Label = DefaultLabel
	}
	if c.ClusterID == "" {
		c.ClusterID = DefaultClusterID
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = clock.New()
	}
	c.Join = append([]string(nil), c.Join...)
	c.Voters = append([]string(nil), c.Voters...)
	c.SecretKey = append([]byte(nil), c.SecretKey...)
	if len(c.SecretKey) == 0 {
		c.SecretKey = nil
	}
	return c
}

// validate checks c (defaults filled in) and builds the protocol machine's
// configuration, which refuses unsafe TTL and drift combinations (R8, R9).
// Every error wraps ErrConfig and names the field.
func (c *Config) validate() (protocol.Config, error) {
	if c.Name == "" {
		return protocol.Config{}, fmt.Errorf("%w: Name is empty", ErrConfig)
	}
	if len(c.Name) > protocol.MaxNodeNameLen {
		return protocol.Config{}, fmt.Errorf("%w: Name %q is longer than %d bytes", ErrConfig, c.Name, protocol.MaxNodeNameLen)
	}
	if c.Transport == nil {
		if net.ParseIP(c.BindAddr) == nil {
			return protocol.Config{}, fmt.Errorf("%w: BindAddr %q is not an IP address", ErrConfig, c.BindAddr)
		}
		if c.BindPort < 0 || c.BindPort > 65535 {
			return protocol.Config{}, fmt.Errorf("%w: BindPort %d outside [0, 65535]", ErrConfig, c.BindPort)
		}
	}
	switch len(c.SecretKey) {
	case 0, 16, 24, 32:
	default:
		return protocol.Config{}, fmt.Errorf("%w: SecretKey is %d bytes; it must be 16, 24 or 32", ErrConfig, len(c.SecretKey))
	}
	if len(c.Label) > memberlist.LabelMaxSize {
		return protocol.Config{}, fmt.Errorf("%w: Label is %d bytes, at most %d", ErrConfig, len(c.Label), memberlist.LabelMaxSize)
	}
	if c.MaxTTL < 0 || c.DefaultTTL < 0 || c.RetryInterval < 0 {
		return protocol.Config{}, fmt.Errorf("%w: DefaultTTL %v, MaxTTL %v, RetryInterval %v: none may be negative", ErrConfig, c.DefaultTTL, c.MaxTTL, c.RetryInterval)
	}
	if c.MaxDrift < 0 {
		return protocol.Config{}, fmt.Errorf("%w: MaxDrift %v is negative", ErrConfig, c.MaxDrift)
	}
	if c.JoinTimeout < 0 {
		return protocol.Config{}, fmt.Errorf("%w: JoinTimeout %v is negative", ErrConfig, c.JoinTimeout)
	}
	if err := checkClusterID(c.ClusterID); err != nil {
		return protocol.Config{}, err
	}
	if c.NewCluster && c.Restored {
		return protocol.Config{}, fmt.Errorf("%w: NewCluster and Restored are both set: a restored data dir is never a new cluster's", ErrConfig)
	}
	pc := protocol.Config{
		Self:       c.Name,
		Cluster:    c.ClusterID,
		Voters:     c.Voters,
		MaxDrift:   c.MaxDrift,
		DefaultTTL: c.DefaultTTL,
		MaxTTL:     c.MaxTTL,

		RetryInterval: c.RetryInterval,
	}
	if err := pc.Validate(); err != nil {
		// The protocol names its own fields; Self is this Config's Name.
		return protocol.Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c.MaxDrift, c.DefaultTTL, c.MaxTTL, c.RetryInterval = pc.MaxDrift, pc.DefaultTTL, pc.MaxTTL, pc.RetryInterval
	return pc, nil
}

// checkClusterID refuses an ID that would not read back unchanged from a
// flag, a log line or the data dir's identity file.
func checkClusterID(id string) error {
	ok := id != "" && len(id) <= protocol.MaxClusterLen
	for _, r := range id {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}
	if !ok {
		return fmt.Errorf("%w: ClusterID %q: use 1 to %d letters, digits, '.', '_' or '-'", ErrConfig, id, protocol.MaxClusterLen)
	}
	return nil
}

// AcquireOption adjusts one Acquire or TryAcquire request.
type AcquireOption func(*acquireOpts)

type acquireOpts struct {
	ttl       time.Duration
	value     []byte
	lockDelay time.Duration
	announce  bool // gossip the tenure for observers (Campaign)
}

// WithTTL sets the lease TTL: how long the voters keep the lease exclusive
// after each grant or renewal, on their own clocks. The holder's usable
// time is somewhat shorter (see Lease.Deadline). It must lie in
// [50ms, Config.MaxTTL]; zero means Config.DefaultTTL. Renewals are
// automatic, at about half the TTL.
func WithTTL(d time.Duration) AcquireOption {
	return func(o *acquireOpts) { o.ttl = d }
}

// WithValue stores v (at most 512 bytes) with the lease at the voters, for
// anyone's Holder query to read: a leader's address, say. The slice is
// copied.
func WithValue(v []byte) AcquireOption {
	v = append([]byte(nil), v...)
	return func(o *acquireOpts) { o.value = v }
}

// WithLockDelay keeps the lease name blocked at the voters for d after a
// tenure ends other than by release: the holder crashed, was cut off,
// could not renew, or called Abandon (as Chubby's and Consul's lock-delay
// do). A holder that lost its lease may still have requests in flight to
// the resource it protects; the delay gives them time to land (or fail)
// before the next holder starts. The voters apply it: each keeps the name
// for the TTL plus d after the tenure's latest grant or renewal it
// accepted, with the d it was sent then. A Release (and a Leave, which
// releases) frees the name at once, delay or not; a holder whose own
// timer ends its tenure never sends a Release, with or without a delay.
// A voter's quarantine after an unclean restart covers the longest TTL
// plus lock delay it ever accepted (R19).
//
// d must lie in [0, Config.MaxTTL]; zero (the default) means no delay.
// It complements fencing tokens, which remain the defence for resources
// that check them; a lock delay only makes a stale write unlikely where
// the resource cannot check.
func WithLockDelay(d time.Duration) AcquireOption {
	return func(o *acquireOpts) { o.lockDelay = d }
}

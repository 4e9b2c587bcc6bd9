package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Prefix starts the name of every namespace and link a Lab creates, so that
// Sweep and chaos/cleanup.sh can find leftovers.
const Prefix = "tch"

// labCount numbers the labs of this process, so that one test binary can
// build several one after another.
var labCount atomic.Int32

// pid is os.Getpid, named for readability at the call sites.
func pid() int { return os.Getpid() }

// Lab is one private network: a hub namespace holding a bridge, a veth from
// the root namespace to it, and the host namespaces added with AddHost. Its
// methods are safe for concurrent use. Close it when done (also on failure:
// register Close with t.Cleanup right after New).
type Lab struct {
	id       string     // "<pid><letter>"
	subnet   netip.Addr // 10.77.S.0
	hub      string     // hub namespace name
	rootVeth string     // the root namespace's end of the hub link

	mu     sync.Mutex
	hosts  []*Host
	closed bool
}

// Host is one namespace of a Lab, with one address on the lab's segment.
type Host struct {
	// Name is the name given to AddHost.
	Name string
	// NS is the namespace name (for `ip netns exec`).
	NS string
	// IP is the host's address on the lab segment.
	IP netip.Addr
}

// New builds an empty lab: the hub namespace with its bridge, and the root
// namespace's veth into it with the address 10.77.S.1/24, for the first S in
// 1..250 not already used by an address of the root namespace.
func New() (*Lab, error) {
	n := labCount.Add(1)
	id := fmt.Sprintf("%d%c", pid(), 'a'+rune((n-1)%26))
	l := &Lab{id: id, hub: nsName(id, "hub"), rootVeth: Prefix + id + "r"}
	subnet, err := freeSubnet(pid() + int(n))
	if err != nil {
		return nil, err
	}
	l.subnet = subnet
	if err := l.build(); err != nil {
		if cerr := l.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	return l, nil
}

// nsName is the namespace name of host in lab id.
func nsName(id, host string) string { return Prefix + "-" + id + "-" + host }

// RootIP is the root namespace's address on the lab segment: where a host
// reaches a server run by the test process itself.
func (l *Lab) RootIP() netip.Addr { return l.addr(1) }

// addr returns 10.77.S.k.
func (l *Lab) addr(k int) netip.Addr {
	b := l.subnet.As4()
	b[3] = byte(k)
	return netip.AddrFrom4(b)
}

// Prefix returns the lab's segment, 10.77.S.0/24.
func (l *Lab) Prefix() netip.Prefix { return netip.PrefixFrom(l.subnet, 24) }

// freeSubnet returns 10.77.S.0 for the first S, starting from a value
// derived from seed, that no address of the root namespace uses.
func freeSubnet(seed int) (netip.Addr, error) {
	out, err := run("ip", "-4", "-o", "addr", "show")
	if err != nil {
		return netip.Addr{}, err
	}
	for i := range 250 {
		s := (seed+i)%250 + 1
		if !strings.Contains(out, fmt.Sprintf(" 10.77.%d.", s)) {
			return netip.AddrFrom4([4]byte{10, 77, byte(s), 0}), nil
		}
	}
	return netip.Addr{}, errors.New("netns: no free subnet in 10.77.0.0/16")
}

// build makes the hub and the root veth.
func (l *Lab) build() error {
	root := l.RootIP().String() + "/24"
	steps := [][]string{
		{"netns", "add", l.hub},
		{"-n", l.hub, "link", "set", "lo", "up"},
		{"-n", l.hub, "link", "add", "br0", "type", "bridge"},
		{"-n", l.hub, "link", "set", "br0", "up"},
		{"link", "add", l.rootVeth, "type", "veth", "peer", "name", "root", "netns", l.hub},
		{"-n", l.hub, "link", "set", "root", "master", "br0", "up"},
		{"addr", "add", root, "dev", l.rootVeth},
		{"link", "set", l.rootVeth, "up"},
	}
	for _, s := range steps {
		if _, err := run("ip", s...); err != nil {
			return err
		}
	}
	return nil
}

// nftTable is the per-host table; its input chain holds the fault rules.
const nftTable = `table inet tchaos {
	chain input {
		type filter hook input priority filter; policy accept;
	}
}
`

// AddHost makes a namespace named after name, joins it to the bridge with
// the next address (10.77.S.10, .11, ...), brings up its loopback and
// installs the empty fault table.
func (l *Lab) AddHost(name string) (*Host, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errors.New("netns: lab closed")
	}
	k := 10 + len(l.hosts)
	if k > 250 {
		return nil, errors.New("netns: too many hosts")
	}
	h := &Host{Name: name, NS: nsName(l.id, name), IP: l.addr(k)}
	if _, err := run("ip", "netns", "add", h.NS); err != nil {
		return nil, err
	}
	l.hosts = append(l.hosts, h) // from here on Close removes it
	veth := "v" + strconv.Itoa(k)
	steps := [][]string{
		{"-n", h.NS, "link", "set", "lo", "up"},
		{"-n", l.hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.NS},
		{"-n", l.hub, "link", "set", veth, "master", "br0", "up"},
		{"-n", h.NS, "addr", "add", h.IP.String() + "/24", "dev", "eth0"},
		{"-n", h.NS, "link", "set", "eth0", "up"},
	}
	for _, s := range steps {
		if _, err := run("ip", s...); err != nil {
			return nil, err
		}
	}
	if _, err := runInput(nftTable, "ip", "netns", "exec", h.NS, "nft", "-f", "-"); err != nil {
		return nil, err
	}
	return h, nil
}

// Hosts returns the hosts added so far, in order.
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.hosts...)
}

// Command returns a command that runs name with args inside h's namespace.
// `ip netns exec` replaces itself with the command, so the process's pid is
// the command's own, and signals sent to it reach the command.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Close ends every process still inside the lab's namespaces (SIGKILL),
// deletes the namespaces (which deletes their links and rules) and the root
// veth. It tries every step and reports every failure; closing twice is
// harmless.
func (l *Lab) Close() error {
	l.mu.Lock()
	hosts := l.hosts
	l.hosts = nil
	l.closed = true
	l.mu.Unlock()
	var errs []error
	for _, h := range hosts {
		errs = append(errs, removeNamespace(h.NS))
	}
	errs = append(errs, removeNamespace(l.hub), removeLink(l.rootVeth))
	return errors.Join(errs...)
}

// removeNamespace kills the processes inside ns and deletes it; a missing
// namespace is not an error.
func removeNamespace(ns string) error {
	if !namespaceExists(ns) {
		return nil
	}
	killNamespacePids(ns)
	_, err := run("ip", "netns", "del", ns)
	return err
}

// killNamespacePids sends SIGKILL to every process inside ns (processes the
// lab's user started there).
func killNamespacePids(ns string) {
	out, err := run("ip", "netns", "pids", ns)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(out) {
		if p, err := strconv.Atoi(f); err == nil && p > 1 && p != pid() {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// namespaceExists reports whether `ip netns list` shows ns.
func namespaceExists(ns string) bool {
	names, err := listNamespaces()
	if err != nil {
		return true // let the delete report the real problem
	}
	for _, n := range names {
		if n == ns {
			return true
		}
	}
	return false
}

// listNamespaces returns the names `ip netns list` prints.
func listNamespaces() ([]string, error) {
	out, err := run("ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// removeLink deletes a root-namespace link; a missing link is not an error
// (deleting the hub namespace usually took it already).
func removeLink(name string) error {
	out, err := run("ip", "link", "del", name)
	if err != nil && strings.Contains(out, "Cannot find device") {
		return nil // gone with its peer, perhaps a moment ago
	}
	return err
}

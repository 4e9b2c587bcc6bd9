//go:build chaos

package netns

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a tiny UDP tool instead of running
// tests: "echo ADDR" answers every datagram, "probe ADDR" exits 0 if ADDR
// echoes within about a second.
const helperEnv = "TENURE_NETNS_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(helper(strings.Fields(h)))
	}
	os.Exit(m.Run())
}

func helper(args []string) int {
	switch {
	case len(args) == 2 && args[0] == "echo":
		c, err := net.ListenPacket("udp4", args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return 1
			}
			_, _ = c.WriteTo(buf[:n], from)
		}
	case len(args) == 2 && args[0] == "probe":
		if probe(args[1]) != nil {
			return 1
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "bad helper args", args)
	return 2
}

// probe sends up to five datagrams to addr and waits 200 ms for each echo.
func probe(addr string) error {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 64)
	for range 5 {
		if _, err := c.Write([]byte("ping")); err != nil {
			continue // ECONNREFUSED from an earlier send: try again
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == "ping" {
			return nil
		}
	}
	return errors.New("no echo")
}

// helperCmd runs the test binary as a helper inside h.
func helperCmd(h *Host, args string) *exec.Cmd {
	cmd := h.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+args)
	return cmd
}

// reaches reports whether a probe from inside from gets an echo from addr.
func reaches(from *Host, addr string) bool {
	return helperCmd(from, "probe "+addr).Run() == nil
}

func requireLab(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netns: needs root (ip netns, nftables); run as root, e.g. on CI")
	}
	if err := Available(); err != nil {
		t.Skipf("netns: unavailable: %v", err)
	}
}

func TestLabPartitionLossHeal(t *testing.T) {
	requireLab(t)
	if removed, err := Sweep(false); err != nil || len(removed) > 0 {
		t.Logf("swept leftovers %v (err %v)", removed, err)
	}
	lab, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Error(err)
		}
	})
	a, err := lab.AddHost("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := lab.AddHost("b")
	if err != nil {
		t.Fatal(err)
	}
	echoAddr := b.IP.String() + ":9999"
	echo := helperCmd(b, "echo "+echoAddr)
	if err := echo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = echo.Process.Kill(); _ = echo.Wait() })

	// The root namespace reaches b through its veth once the echo is up.
	deadline := time.Now().Add(10 * time.Second)
	for probe(echoAddr) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("root namespace cannot reach %s", echoAddr)
		}
	}
	if !reaches(a, echoAddr) {
		t.Fatal("a cannot reach b before any fault")
	}
	if err := lab.Partition([]*Host{a}, []*Host{b}); err != nil {
		t.Fatal(err)
	}
	if reaches(a, echoAddr) {
		rules, _ := lab.Rules(b)
		t.Fatalf("a reaches b across a partition; b's rules:\n%s", rules)
	}
	if probe(echoAddr) != nil {
		t.Fatal("a partition between hosts cut the root namespace off")
	}
	if err := lab.Heal(); err != nil {
		t.Fatal(err)
	}
	if !reaches(a, echoAddr) {
		t.Fatal("a cannot reach b after Heal")
	}
	// One-way: b drops what a sends, so the echo never comes back.
	if err := lab.Block(a, b); err != nil {
		t.Fatal(err)
	}
	if reaches(a, echoAddr) {
		t.Fatal("a reaches b through Block(a, b)")
	}
	if err := lab.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := lab.Loss(b, 100); err != nil {
		t.Fatal(err)
	}
	if reaches(a, echoAddr) {
		t.Fatal("a reaches b through 100% loss")
	}
	if err := lab.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := lab.Loss(b, 30); err != nil {
		t.Fatal(err)
	}
	if rules, err := lab.Rules(b); err != nil || !strings.Contains(rules, "numgen random mod 100 < 30") {
		t.Fatalf("30%% loss rule not installed: %v\n%s", err, rules)
	}
	if err := lab.Heal(); err != nil {
		t.Fatal(err)
	}

	// Close removes everything, including the running echo's namespace.
	if err := lab.Close(); err != nil {
		t.Fatal(err)
	}
	names, err := listNamespaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, Prefix+"-"+lab.id+"-") {
			t.Fatalf("namespace %s survived Close", n)
		}
	}
	if _, err := run("ip", "link", "show", lab.rootVeth); err == nil {
		t.Fatalf("link %s survived Close", lab.rootVeth)
	}
}

// Sweep removes what a lab of a dead process left behind and spares the
// labs of live ones.
func TestSweep(t *testing.T) {
	requireLab(t)
	lab, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	// A leftover of a process that cannot exist (pids stop at 2^22).
	dead := Prefix + "-9999999a-x"
	if _, err := run("ip", "netns", "add", dead); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = removeNamespace(dead) })
	removed, err := Sweep(false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(removed, " "), dead) {
		t.Fatalf("Sweep removed %v, not %s", removed, dead)
	}
	if !namespaceExists(lab.hub) {
		t.Fatal("Sweep removed a live lab's namespace")
	}
}

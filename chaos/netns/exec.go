package netns

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// cmdTimeout bounds every ip and nft invocation: they are local and fast,
// and a hung one must not hang the test.
const cmdTimeout = 20 * time.Second

// run executes name with args and returns its combined output, or an error
// that quotes the command and its output.
func run(name string, args ...string) (string, error) {
	return runInput("", name, args...)
}

// runInput is run with input on stdin.
func runInput(input, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("netns: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Available reports whether this process can build a lab: it runs as root
// and `ip netns` and `nft` work. The error says what is missing.
func Available() error {
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("netns: ip (iproute2) not installed: %w", err)
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("netns: nft (nftables) not installed: %w", err)
	}
	if _, err := run("ip", "netns", "list"); err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%dprobe", Prefix, pid())
	if _, err := run("ip", "netns", "add", name); err != nil {
		return fmt.Errorf("netns: cannot create a namespace (root needed): %w", err)
	}
	defer func() { _, _ = run("ip", "netns", "del", name) }()
	if _, err := run("ip", "netns", "exec", name, "nft", "list", "ruleset"); err != nil {
		return fmt.Errorf("netns: nft does not work inside a namespace: %w", err)
	}
	return nil
}

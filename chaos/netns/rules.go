package netns

import (
	"errors"
	"fmt"
)

// nft runs one nft command inside h's namespace.
func nft(h *Host, args ...string) error {
	_, err := run("ip", append([]string{"netns", "exec", h.NS, "nft"}, args...)...)
	return err
}

// Block drops every packet from `from` arriving at `to`. Used once it is an
// asymmetric partition: `to` cannot hear `from`, `from` still hears `to`.
func (l *Lab) Block(from, to *Host) error {
	return nft(to, "add", "rule", "inet", "tchaos", "input", "ip", "saddr", from.IP.String(), "drop")
}

// Partition blocks, in both directions, every pair of hosts in different
// groups. Hosts in no group are left alone.
func (l *Lab) Partition(groups ...[]*Host) error {
	var errs []error
	for i, g := range groups {
		for j, other := range groups {
			if i == j {
				continue
			}
			for _, to := range g {
				for _, from := range other {
					errs = append(errs, l.Block(from, to))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Loss drops a share of percent (0..100) of the packets arriving at h from
// the other hosts of the lab, each packet drawn independently by the kernel
// (nft numgen random). Traffic from the root namespace (the test's clients)
// is not affected.
func (l *Lab) Loss(h *Host, percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("netns: loss %d%% out of range", percent)
	}
	args := []string{"add", "rule", "inet", "tchaos", "input",
		"ip", "saddr", l.Prefix().String(), "ip", "saddr", "!=", l.RootIP().String()}
	switch percent {
	case 0:
		return nil
	case 100: // nft refuses "< 100" for "mod 100"
	default:
		args = append(args, "numgen", "random", "mod", "100", "<", fmt.Sprint(percent))
	}
	return nft(h, append(args, "drop")...)
}

// Heal removes every fault rule from every host.
func (l *Lab) Heal() error {
	var errs []error
	for _, h := range l.Hosts() {
		errs = append(errs, nft(h, "flush", "chain", "inet", "tchaos", "input"))
	}
	return errors.Join(errs...)
}

// Rules returns h's fault chain as nft lists it, for logs and tests.
func (l *Lab) Rules(h *Host) (string, error) {
	return run("ip", "netns", "exec", h.NS, "nft", "list", "chain", "inet", "tchaos", "input")
}

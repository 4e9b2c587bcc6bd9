package main

import (
	"fmt"
	"math"

	"github.com/tenure-dev/tenure/agent"
)

// Descriptors kept from HTTP connections.
const (
	// reservedFDs is how many open files the agent keeps for everything
	// but HTTP connections: the gossip transport (memberlist's TCP
	// listener and the streams other members open to it, the UDP
	// socket), the data dir, logs, and the connections being refused
	// over the cap (agent.MaxRefusing). HTTP may use the rest of the
	// open-file limit, up to --http-max-conns.
	reservedFDs = 160 + agent.MaxRefusing
	// minHTTPConns is the fewest HTTP connections worth serving.
	minHTTPConns = 8
)

// httpConnCap is the connection cap in force: want, lowered to the
// open-file limit (raised to its hard limit first) minus reservedFDs, so
// that HTTP clients can never starve the gossip transport of descriptors.
// It fails if the limit leaves fewer than minHTTPConns. nofile is the
// limit, 0 where it cannot be read.
func httpConnCap(want int) (maxConns int, nofile uint64, err error) {
	nofile, ok := raiseOpenFileLimit()
	if !ok {
		return want, 0, nil
	}
	maxConns, err = connCapFor(want, nofile)
	return maxConns, nofile, err
}

// connCapFor is the cap for want under an open-file limit of nofile.
func connCapFor(want int, nofile uint64) (int, error) {
	if nofile >= math.MaxInt32 {
		return want, nil
	}
	budget := int(nofile) - reservedFDs
	if budget < minHTTPConns {
		return 0, fmt.Errorf("the open-file limit (ulimit -n) is %d: the agent keeps %d descriptors for gossip, storage and refusals, which leaves fewer than %d for HTTP connections; raise the limit to at least %d",
			nofile, reservedFDs, minHTTPConns, reservedFDs+minHTTPConns)
	}
	return min(want, budget), nil
}

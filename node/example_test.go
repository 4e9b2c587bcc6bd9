package node_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tenure-dev/tenure/node"
)

// Three voters in one process, on loopback, elect a leader: the first to
// acquire the "leader" lease leads and stores its address with it; the
// others find it held and read the leader's address from the voters.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	voters := []string{"n1", "n2", "n3"}
	var nodes []*node.Node
	for _, name := range voters {
		dir, err := os.MkdirTemp("", "tenure-example-")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		cfg := node.Config{
			Name:     name,
			BindAddr: "127.0.0.1",
			BindPort: 0, // any free port
			Voters:   voters,
			DataDir:  dir, // durable era floor: no start-up quarantine
			// The dirs are empty because the cluster is new (R18).
			NewCluster: true,
		}
		if len(nodes) > 0 {
			cfg.Join = []string{nodes[0].Addr()}
		}
		n, err := node.New(cfg)
		if err != nil {
			panic(err)
		}
		defer n.Shutdown()
		nodes = append(nodes, n)
	}

	lease, err := nodes[0].Acquire(ctx, "leader", node.WithValue([]byte(nodes[0].Addr())))
	if err != nil {
		panic(err)
	}
	fmt.Println("n1 leads:", lease.Err() == nil)

	_, err = nodes[1].TryAcquire(ctx, "leader")
	fmt.Println("n2 finds it held:", errors.Is(err, node.ErrHeld))

	h, err := nodes[2].Holder(ctx, "leader")
	if err != nil {
		panic(err)
	}
	fmt.Println("n3 is told the leader is", h.Node, "at its address:", string(h.Value) == nodes[0].Addr())

	// Work under the lease: stop when it ends, and fence writes with the
	// token.
	select {
	case <-lease.Done():
		fmt.Println("lost:", lease.Err())
	default:
		fmt.Println("token > 0:", lease.Token() > 0)
	}
	if err := lease.Release(ctx); err != nil {
		panic(err)
	}
	fmt.Println("released:", errors.Is(lease.Err(), node.ErrReleased))
	// Output:
	// n1 leads: true
	// n2 finds it held: true
	// n3 is told the leader is n1 at its address: true
	// token > 0: true
	// released: true
}

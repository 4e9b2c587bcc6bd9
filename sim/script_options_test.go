package sim

import "time"

// scriptOptions is the start of a scripted run: voters and clients, one
// lease, no workload and a fault-free network with 1-5 ms delays.
func scriptOptions(voters, clients int) Options {
	o := DefaultOptions()
	o.Workload = false
	o.Voters, o.Clients, o.Leases = voters, clients, 1
	o.Faults = Faults{DelayMin: time.Millisecond, DelayMax: 5 * time.Millisecond}
	return o
}

package fence

// Resource is a Guard bound to the one lease name that protects a resource.
// Its methods take no name: the name is fixed once, from the resource's own
// configuration, so no call, and no caller, can check a token against
// another name's highest. It is the easy way to use a Guard for a resource
// protected by one lease (or a fixed set of them: one Resource each).
//
// A Resource is a view: the highest tokens live in its Guard, shared with
// every other Resource of that Guard and with the Guard's own methods, and
// Close is the Guard's. Make one with Guard.Resource; it is safe for
// concurrent use.
type Resource struct {
	g    *Guard
	name string
}

// Resource returns g bound to the lease name, which must be the name of the
// lease whose holders may act on the resource, spelled as the lease system
// grants it: names are compared byte for byte and "DB", "db#0" and the NFD
// spelling of "café" are leases of their own. It fails with ErrBadName if
// name is not a valid lease name. Binding the same name twice gives two
// views of the same state.
func (g *Guard) Resource(name string) (*Resource, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return &Resource{g: g, name: name}, nil
}

// Name returns the lease name r is bound to.
func (r *Resource) Name() string { return r.name }

// Do is Guard.Do for r's name: it admits token and runs op under the
// name's lock, or refuses (*StaleError, ErrNoToken, ErrClosed, ErrPersist)
// and runs nothing.
func (r *Resource) Do(token uint64, op func() error) error { return r.g.Do(r.name, token, op) }

// Admit is Guard.Admit for r's name.
func (r *Resource) Admit(token uint64) error { return r.g.Admit(r.name, token) }

// Highest is Guard.Highest for r's name.
func (r *Resource) Highest() (uint64, bool) { return r.g.Highest(r.name) }

package fence

import (
	"fmt"

	"github.com/tenure-dev/tenure/internal/leasename"
)

// MaxNameLen is the longest lease name, in bytes. It is the protocol's
// limit, so every name the lease system can grant is accepted here.
const MaxNameLen = leasename.MaxLen

// checkName refuses what the protocol refuses as a lease name: empty, longer
// than MaxNameLen bytes, invalid UTF-8, or holding a control character. A
// name the protocol could never grant can only be a mistake. The rules are
// the protocol's own (package internal/leasename), not a copy of them.
func checkName(name string) error { return leasename.Check(name, ErrBadName) }

// checkCall validates the arguments of Admit and Do.
func checkCall(name string, token uint64) error {
	if err := checkName(name); err != nil {
		return err
	}
	if token == 0 {
		return fmt.Errorf("%w: lease %q", ErrNoToken, name)
	}
	return nil
}

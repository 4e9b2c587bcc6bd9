package fence

import (
	"fmt"
	"unicode/utf8"
)

// MaxNameLen is the longest lease name, in bytes. It equals the protocol's
// limit, so every name the lease system can grant is accepted here.
const MaxNameLen = 256

// checkName refuses what the protocol refuses as a lease name: empty, longer
// than MaxNameLen bytes, invalid UTF-8, or holding a control character. A
// name the protocol could never grant can only be a mistake.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrBadName)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes, longer than %d", ErrBadName, len(name), MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrBadName, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%w: control character in %q", ErrBadName, name)
		}
	}
	return nil
}

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

// Package leasename holds the one check of what a lease name may be. The
// protocol (which refuses to grant, promise or decode anything else) and the
// fence package (which refuses to admit a token for a name no lease could
// carry) both call Check, each wrapping its own sentinel error, so the two
// can never disagree about a name. The HTTP API (package api) adds its own
// stricter rules on top of protocol.CheckName.
package leasename

import (
	"fmt"
	"unicode/utf8"
)

// MaxLen is the longest lease name, in bytes.
const MaxLen = 256

// Check reports whether name is a valid lease name: non-empty, at most MaxLen
// bytes, valid UTF-8, and free of control characters (C0, DEL and C1). The
// error it returns wraps bad, the caller's sentinel, followed by the reason:
// "<bad>: empty", "<bad>: 300 bytes, longer than 256", "<bad>: "a\xff" is not
// valid UTF-8" or "<bad>: control character in "a\nb"". It allocates nothing
// for a valid name.
func Check(name string, bad error) error {
	if name == "" {
		return fmt.Errorf("%w: empty", bad)
	}
	if len(name) > MaxLen {
		return fmt.Errorf("%w: %d bytes, longer than %d", bad, len(name), MaxLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: %q is not valid UTF-8", bad, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%w: control character in %q", bad, name)
		}
	}
	return nil
}

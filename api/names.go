package api

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tenure-dev/tenure/protocol"
)

// ErrBadName wraps every lease name the HTTP API refuses (HTTP 400).
var ErrBadName = errors.New("agent: bad lease name")

// CheckName reports whether name is a lease name the HTTP API serves: a
// valid protocol name (protocol.CheckName) that is also safe to carry in a
// URL path and to show to a person. On top of the protocol's rules it
// refuses
//
//   - "." and "..": dot-segments, which URL libraries, proxies and the
//     agent's own router remove from a path, so that a request for them
//     would reach another route (even with %2E, which RFC 3986 lets any
//     intermediary decode);
//   - invisible runes: format characters (Unicode category Cf: the bidi
//     overrides and isolates such as U+202E, zero-width spaces and
//     joiners, U+FEFF), other default-ignorable code points (U+3164,
//     U+115F, ...), variation selectors, private-use, unassigned and
//     non-ASCII space and separator code points. With them one name can
//     display as another in `tenure status`, logs and dashboards.
//
// Every other name a node accepts is served, and Client encodes each so
// that it reaches the agent unchanged.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: lease name is empty", ErrBadName)
	case len(name) > protocol.MaxNameLen:
		return fmt.Errorf("%w: lease name is %d bytes, longer than %d", ErrBadName, len(name), protocol.MaxNameLen)
	case protocol.CheckName(name) != nil:
		return fmt.Errorf("%w: lease name %s is not printable UTF-8", ErrBadName, QuoteName(name))
	case name == "." || name == "..":
		return fmt.Errorf("%w: lease name %q is a URL dot-segment, which clients and proxies remove from paths; choose another name", ErrBadName, name)
	}
	for _, r := range name {
		if !visible(r) {
			return fmt.Errorf("%w: lease name %s contains U+%04X, an invisible or formatting character (bidi controls, zero-width and other format characters are refused: they make one name display as another)", ErrBadName, QuoteName(name), r)
		}
	}
	return nil
}

// visible reports whether r shows as itself: printable (letters, marks,
// numbers, punctuation, symbols and the ASCII space; not Cf, Co, Cn, Zl,
// Zp or other Zs) and neither default-ignorable nor a variation selector.
func visible(r rune) bool {
	return unicode.IsPrint(r) &&
		!unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) &&
		!unicode.Is(unicode.Variation_Selector, r)
}

// QuoteName is name as it may be shown to a person: unchanged if every
// rune of it is visible and it neither starts nor ends with a space;
// otherwise in double quotes, with each invisible rune (and any invalid
// byte, quote or backslash) escaped as in Go, such as "a\u202eb". A name
// can therefore never display as another one.
func QuoteName(name string) string {
	plain := name != "" && !strings.HasPrefix(name, " ") && !strings.HasSuffix(name, " ") && utf8.ValidString(name)
	for _, r := range name {
		if !plain || !visible(r) || r == '"' || r == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return name
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, name[i])
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case visible(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r) // '\u202e', '\n', ...
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// pathName is name as one segment of a URL path: url.PathEscape, which
// escapes "/", "%", "?", "#" and non-ASCII bytes, and also "." when the
// whole name is dots, so that a path never holds a dot-segment that a
// router would remove ("." and ".." then reach the agent, which refuses
// them with a clear 400 instead of a redirect or a 404).
func pathName(name string) string {
	if strings.Trim(name, ".") == "" {
		return strings.Repeat("%2E", len(name))
	}
	return url.PathEscape(name)
}

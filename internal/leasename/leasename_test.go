package leasename

import (
	"errors"
	"strings"
	"testing"
)

var errBad = errors.New("bad name")

// TestCheck pins the one definition of a lease name that protocol and fence
// share: each refusal wraps the caller's sentinel and says why; every edge
// just inside the rules passes.
func TestCheck(t *testing.T) {
	for _, name := range []string{
		"a", "L1", "with space", "größe", "日本", "a\u00a0b", "a\u200bb", // NBSP and ZWSP are not control characters
		"\x20", "~", strings.Repeat("x", MaxLen), strings.Repeat("é", MaxLen/2),
	} {
		if err := Check(name, errBad); err != nil {
			t.Errorf("Check(%q) = %v, want nil", name, err)
		}
	}
	for _, tc := range []struct{ name, want string }{
		{"", "bad name: empty"},
		{strings.Repeat("x", MaxLen+1), "bad name: 257 bytes, longer than 256"},
		{strings.Repeat("é", MaxLen/2) + "x", "bad name: 257 bytes, longer than 256"},
		{"a\xff", `bad name: "a\xff" is not valid UTF-8`},
		{"a\x00", `bad name: control character in "a\x00"`},
		{"a\nb", `bad name: control character in "a\nb"`},
		{"\x1f", `bad name: control character in "\x1f"`},
		{"a\x7f", `bad name: control character in "a\x7f"`},
		{"a\u0080", `bad name: control character in "a\u0080"`},
		{"a\u009f", `bad name: control character in "a\u009f"`},
	} {
		err := Check(tc.name, errBad)
		if !errors.Is(err, errBad) || err.Error() != tc.want {
			t.Errorf("Check(%q) = %v, want %q wrapping the sentinel", tc.name, err, tc.want)
		}
	}
}

// A valid name costs no allocation: the protocol checks every name of
// every datagram.
func TestCheckValidAllocatesNothing(t *testing.T) {
	name := strings.Repeat("größe-", 20)
	if n := testing.AllocsPerRun(100, func() {
		if Check(name, errBad) != nil {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Fatalf("Check allocates %v times for a valid name", n)
	}
}

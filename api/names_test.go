package api

import (
	"errors"
	"strings"
	"testing"
)

// CheckName refuses dot-segments and invisible runes on top of the
// protocol's rules, and nothing else.
func TestCheckName(t *testing.T) {
	for _, name := range []string{"job", "a/b", "a/../b", "../x", "x/..", "...", ".a", "a.", "a b", "%2e", "a?b#c", "café", "cafe\u0301", "日本", "🙂", "a+b", `a\b`, `"q"`, "keepalive"} {
		if err := CheckName(name); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", name, err)
		}
	}
	for _, tc := range []struct{ name, want string }{
		{"", "empty"},
		{".", "dot-segment"},
		{"..", "dot-segment"},
		{"a\u202eb", "U+202E"}, // right-to-left override
		{"a\u200bb", "U+200B"}, // zero-width space
		{"\ufeffa", "U+FEFF"},  // byte order mark
		{"a\u2066b", "U+2066"}, // left-to-right isolate
		{"a\u00adb", "U+00AD"}, // soft hyphen (Cf)
		{"a\u3164b", "U+3164"}, // Hangul filler: a letter that shows nothing
		{"a\u00a0b", "U+00A0"}, // no-break space
		{"a\u2028b", "U+2028"}, // line separator
		{"\u2764\ufe0f", "U+FE0F"},
		{"a\ue000", "U+E000"}, // private use
		{"a\x01b", "printable"},
		{"a\xffb", "printable"},
		{strings.Repeat("n", 257), "longer than 256"},
	} {
		err := CheckName(tc.name)
		if !errors.Is(err, ErrBadName) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckName(%q) = %v, want ErrBadName saying %q", tc.name, err, tc.want)
		}
	}
}

// QuoteName shows a name as itself only if nothing in it is invisible.
func TestQuoteName(t *testing.T) {
	for in, want := range map[string]string{
		"job":         "job",
		"café":        "café",
		"a b":         "a b",
		"a\u202eb":    `"a\u202eb"`,
		"a\u200b":     `"a\u200b"`,
		" job":        `" job"`,
		"job ":        `"job "`,
		"a\nb":        `"a\nb"`,
		`say "hi"`:    `"say \"hi\""`,
		"a\xffb":      `"a\xffb"`,
		"":            `""`,
		"x\U000e0041": `"x\U000e0041"`,
	} {
		if got := QuoteName(in); got != want {
			t.Errorf("QuoteName(%q) = %s, want %s", in, got, want)
		}
	}
}

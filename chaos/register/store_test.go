package register

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileRoundTrip(t *testing.T) {
	in := map[string]Entry{
		"a":         {Value: "x", Token: 1},
		"b \"q\"\n": {Value: "line\nbreak", Token: 1 << 63},
		"unicode-ü": {Value: "", Token: 42},
	}
	out, err := decodeFile(encodeFile(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("got %v, want %v", out, in)
	}
	for k, e := range in {
		if out[k] != e {
			t.Fatalf("key %q: got %+v, want %+v", k, out[k], e)
		}
	}
}

// A damaged file is refused, never read as empty: starting empty would lose
// acknowledged writes.
func TestOpenCorrupt(t *testing.T) {
	good := string(encodeFile(map[string]Entry{"k": {Value: "v", Token: 3}}))
	cases := map[string]string{
		"empty":         "",
		"no newline":    "tenure-register 1 00000000",
		"other magic":   strings.Replace(good, "tenure-register", "tenure-fence", 1),
		"other version": strings.Replace(good, "register 1", "register 2", 1),
		"flipped byte":  strings.Replace(good, `"v"`, `"w"`, 1),
		"truncated":     good[:len(good)-3],
	}
	for desc, content := range cases {
		path := filepath.Join(t.TempDir(), "values")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: Open returned %v, want ErrCorrupt", desc, err)
		}
	}
}

// A write that cannot reach the disk is not applied and is reported.
func TestPutPersistFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(filepath.Join(dir, "values"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := st.put("k", Entry{Value: "v", Token: 1}); !errors.Is(err, ErrPersist) {
		t.Fatalf("put without a directory: %v", err)
	}
	if _, ok := st.get("k"); ok {
		t.Fatal("failed put was applied in memory")
	}
}

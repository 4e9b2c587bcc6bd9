package fence

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// open opens path and fails the test on error.
func open(t *testing.T, path string) *Guard {
	t.Helper()
	g, err := OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// R12: a restarted resource still refuses the holders it refused before.
func TestFileRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	g := open(t, path)
	if err := g.Admit("db", 7); err != nil {
		t.Fatal(err)
	}
	if err := g.Admit("other", 3); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	g = open(t, path)
	if h, ok := g.Highest("db"); h != 7 || !ok {
		t.Fatalf("Highest after reopen = %d, %v; want 7", h, ok)
	}
	if err := g.Admit("db", 5); !errors.Is(err, ErrStale) {
		t.Fatalf("Admit(5) after reopen = %v, want ErrStale", err)
	}
	if err := g.Admit("db", 7); err != nil {
		t.Fatalf("Admit(7) after reopen = %v", err)
	}
	if err := g.Admit("db", 8); err != nil {
		t.Fatalf("Admit(8) after reopen = %v", err)
	}
	if err := g.Admit("other", 2); !errors.Is(err, ErrStale) {
		t.Fatalf("Admit(other, 2) = %v, want ErrStale", err)
	}
	_ = g.Close()

	g = open(t, path)
	if h, _ := g.Highest("db"); h != 8 {
		t.Fatalf("Highest after second reopen = %d, want 8", h)
	}
}

func TestFileCreatedOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	g := open(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("OpenFile did not create the file: %v", err)
	}
	if _, ok := g.Highest("db"); ok {
		t.Fatal("fresh Guard has a token")
	}
	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing-dir", "tokens")); err == nil {
		t.Fatal("OpenFile in a missing directory succeeded")
	}
}

// Equal tokens write nothing; a raise rewrites the file.
func TestFileWritesOnlyOnRaise(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	g := open(t, path)
	if err := g.Admit("db", 7); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := g.Admit("db", 7); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an equal token wrote the file: %v", err)
	}
	if err := g.Admit("db", 8); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a raise did not write the file: %v", err)
	}
}

// A raise that cannot reach the disk is not admitted, its operation does not
// run, and equal tokens keep working.
func TestFilePersistFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := open(t, filepath.Join(dir, "tokens"))
	if err := g.Admit("db", 7); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	ran := false
	err := g.Do("db", 8, func() error { ran = true; return nil })
	if !errors.Is(err, ErrPersist) || ran {
		t.Fatalf("Do(8) without a directory = %v, ran %v; want ErrPersist, op not run", err, ran)
	}
	if h, _ := g.Highest("db"); h != 7 {
		t.Fatalf("Highest = %d after failed raise, want 7", h)
	}
	if err := g.Do("db", 7, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("Do(7) = %v, ran %v; an equal token needs no write", err, ran)
	}
	if err := g.Admit("new", 1); !errors.Is(err, ErrPersist) {
		t.Fatalf("Admit(new) = %v, want ErrPersist", err)
	}
	if _, ok := g.Highest("new"); ok {
		t.Fatal("failed first raise left a token")
	}

	// Once the directory is back the next raise writes everything.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := g.Admit("db", 9); err != nil {
		t.Fatal(err)
	}
	_ = g.Close()
	g = open(t, filepath.Join(dir, "tokens"))
	if h, _ := g.Highest("db"); h != 9 {
		t.Fatalf("Highest after recovery and reopen = %d, want 9", h)
	}
	if _, ok := g.Highest("new"); ok {
		t.Fatal("a refused raise reached the file")
	}
}

func TestFileClosed(t *testing.T) {
	g := open(t, filepath.Join(t.TempDir(), "tokens"))
	_ = g.Close()
	if err := g.Admit("db", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Admit after Close = %v, want ErrClosed", err)
	}
}

// A damaged file is refused, never read as empty.
func TestFileCorrupt(t *testing.T) {
	good := encodeFile(map[string]uint64{"a": 7, "b b": 1 << 40})
	flip := bytes.Clone(good)
	flip[len(flip)-3] ^= 0x01
	header, body, _ := bytes.Cut(good, []byte("\n"))

	// reheader returns body under a correct header, so the checksum passes
	// and the later checks are what refuse it.
	reheader := func(count int, body string) []byte {
		sum := crc32.Checksum([]byte(body), castagnoli)
		return fmt.Appendf(nil, "%s %s %d %08x\n%s", fileMagic, fileVersion, count, sum, body)
	}

	tests := map[string][]byte{
		"empty":          {},
		"no newline":     []byte("tenure-fence 1 0 00000000"),
		"truncated":      good[:len(good)-4],
		"bit flip":       flip,
		"bad magic":      append([]byte("tenure-fencx"+string(header[12:])+"\n"), body...),
		"other version":  append([]byte(strings.Replace(string(header), " 1 ", " 2 ", 1)+"\n"), body...),
		"extra field":    append(append(bytes.Clone(header), " x\n"...), body...),
		"wrong count":    reheader(3, "7 \"a\"\n"),
		"zero token":     reheader(1, "0 \"a\"\n"),
		"negative token": reheader(1, "-7 \"a\"\n"),
		"unquoted name":  reheader(1, "7 a\n"),
		"bad name":       reheader(1, "7 \"\"\n"),
		"duplicate":      reheader(2, "7 \"a\"\n8 \"a\"\n"),
		"no separator":   reheader(1, "7\n"),
		"last line open": reheader(1, "7 \"a\""),
		"json":           []byte(`{"a":7}`),
	}
	for desc, data := range tests {
		t.Run(desc, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			g, err := OpenFile(path)
			if !errors.Is(err, ErrCorrupt) || g != nil {
				t.Fatalf("OpenFile(%q) = %v, %v; want ErrCorrupt", data, g, err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}

	// The good file itself opens, so the cases above fail for their damage.
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	g := open(t, path)
	if h, _ := g.Highest("b b"); h != 1<<40 {
		t.Fatalf("Highest(b b) = %d", h)
	}
}

func TestFileUnreadable(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenFile(dir); err == nil || errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenFile(directory) = %v, want a read error", err)
	}
}

func TestFileRoundTrip(t *testing.T) {
	in := map[string]uint64{
		"a": 1, "with space": 2, "quote\"and\\slash": 3, "größe": ^uint64(0), strings.Repeat("n", MaxNameLen): 5,
	}
	out, err := decodeFile(encodeFile(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("decoded %d entries, want %d", len(out), len(in))
	}
	for k, v := range in {
		if out[k] != v {
			t.Errorf("%q: decoded %d, want %d", k, out[k], v)
		}
	}
	if !bytes.Equal(encodeFile(in), encodeFile(out)) {
		t.Error("encoding is not deterministic")
	}
}

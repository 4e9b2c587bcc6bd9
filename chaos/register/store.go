package register

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tenure-dev/tenure/internal/atomicfile"
	"hash/crc32"
	"strconv"
	"sync"
)

// The value file is a one-line header and a JSON body:
//
//	tenure-register 1 <crc32c of the body, 8 hex digits>\n
//	{"<key>":{"value":"...","token":"<decimal>"},...}
//
// It is replaced whole on every write (temporary file, fsync, rename, fsync
// of the directory), so a crash leaves the old file or the new one, never a
// mixture; a file that fails to parse was damaged by something else.
const (
	fileMagic   = "tenure-register"
	fileVersion = "1"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Entry is the content of one key: the last value written and the token of
// the write that wrote it.
type Entry struct {
	// Value is the value as the writer sent it.
	Value string
	// Token is the fencing token of the write that stored Value.
	Token uint64
}

// store keeps every key's Entry in memory and in the value file. Its lock
// serialises whole-file rewrites across keys.
type store struct {
	mu      sync.Mutex
	path    string
	entries map[string]Entry // exactly what the file on disk holds
	closed  bool
}

// openStore reads the value file at path, or creates an empty one if it is
// missing (so that an unwritable directory is reported at start).
func openStore(path string) (*store, error) {
	s := &store{path: path, entries: make(map[string]Entry)}
	data, created, err := atomicfile.ReadOrCreate(path, encodeFile(s.entries), 0o644)
	switch {
	case err != nil:
		return nil, fmt.Errorf("register: open %s: %w", path, err)
	case !created:
		entries, err := decodeFile(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
		}
		s.entries = entries
	}
	return s, nil
}

// get returns the entry of key.
func (s *store) get(key string) (Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	return e, ok
}

// put writes e as the entry of key, on disk first. On failure the memory
// keeps the old entry; the file may hold either.
func (s *store) put(key string, e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	old, had := s.entries[key]
	s.entries[key] = e
	if err := s.write(); err != nil {
		if had {
			s.entries[key] = old
		} else {
			delete(s.entries, key)
		}
		return fmt.Errorf("%w: key %q: %w", ErrPersist, key, err)
	}
	return nil
}

// close makes later puts fail.
func (s *store) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// write replaces the file with entries; the caller holds mu (or owns s).
func (s *store) write() error {
	return atomicfile.WriteFile(s.path, encodeFile(s.entries), 0o644)
}

// fileEntry is an Entry as JSON: the token as a decimal string.
type fileEntry struct {
	Value string `json:"value"`
	Token string `json:"token"`
}

// encodeFile renders entries in the file format (encoding/json sorts map
// keys, so equal states give equal files).
func encodeFile(entries map[string]Entry) []byte {
	m := make(map[string]fileEntry, len(entries))
	for k, e := range entries {
		m[k] = fileEntry{Value: e.Value, Token: strconv.FormatUint(e.Token, 10)}
	}
	body, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("register: marshal entries: %v", err)) // strings and maps cannot fail
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%s %s %08x\n", fileMagic, fileVersion, crc32.Checksum(body, castagnoli))
	out.Write(body)
	return out.Bytes()
}

// decodeFile parses the file format and checks header, checksum and tokens.
func decodeFile(data []byte) (map[string]Entry, error) {
	header, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return nil, errors.New("no header line")
	}
	var magic, version, sumText string
	if n, err := fmt.Sscanf(string(header), "%s %s %s", &magic, &version, &sumText); n != 3 || err != nil || magic != fileMagic {
		return nil, fmt.Errorf("bad header %q", header)
	}
	if version != fileVersion {
		return nil, fmt.Errorf("unknown version %q", version)
	}
	sum, err := strconv.ParseUint(sumText, 16, 32)
	if err != nil || len(sumText) != 8 {
		return nil, fmt.Errorf("bad checksum field %q", sumText)
	}
	if got := crc32.Checksum(body, castagnoli); got != uint32(sum) {
		return nil, fmt.Errorf("checksum %08x, header says %08x", got, sum)
	}
	var m map[string]fileEntry
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	entries := make(map[string]Entry, len(m))
	for k, fe := range m {
		tok, err := strconv.ParseUint(fe.Token, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("key %q: bad token %q", k, fe.Token)
		}
		entries[k] = Entry{Value: fe.Value, Token: tok}
	}
	return entries, nil
}

package fence

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/tenure-dev/tenure/internal/atomicfile"
	"hash/crc32"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The token file is text, so an operator can read it:
//
//	tenure-fence 1 <count> <crc32c of the body, 8 hex digits>\n
//	<token> <lease name as a Go quoted string>\n      (count lines, sorted by name)
//
// It is replaced whole on every raise (write a temporary file, fsync, rename,
// fsync the directory), so a crash leaves either the old file or the new one,
// never a mixture: any file that fails to parse was damaged by something
// other than a crash, and OpenFile refuses it.
const (
	fileMagic   = "tenure-fence"
	fileVersion = "1"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// OpenFile returns a Guard whose highest tokens live in the file at path, so
// a restarted resource still refuses the stale holders it refused before.
//
// A missing file means a first start: OpenFile writes an empty file at once,
// so that a directory it cannot write is reported now and not at the first
// admission. A file that exists but cannot be read back exactly (truncated,
// edited, bit-flipped, a different format) fails with an error matching
// ErrCorrupt; OpenFile never falls back to an empty Guard, which would admit
// every stale holder. Deleting the file forgets every token, as losing the
// resource's own data would.
//
// A raise (a token higher than any admitted for its name) rewrites the whole
// file and fsyncs twice before the call is admitted; raises happen once per
// tenure, not per operation, and an equal token costs no write. Only one Guard
// may use a file at a time. Call Close when done.
func OpenFile(path string) (*Guard, error) {
	st := &fileStore{path: path, tokens: make(map[string]uint64)}
	data, created, err := atomicfile.ReadOrCreate(path, encodeFile(st.tokens), 0o644)
	switch {
	case err != nil:
		return nil, fmt.Errorf("fence: open %s: %w", path, err)
	case !created:
		tokens, err := decodeFile(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
		}
		st.tokens = tokens
	}
	g := New()
	g.store = st
	for name, tok := range st.tokens {
		s := &slot{}
		s.highest.Store(tok)
		g.slots[name] = s
	}
	return g, nil
}

// fileStore is the durable copy of every slot's highest token. Its lock
// serialises whole-file rewrites across names; it is taken inside a slot's
// lock, never the other way round.
type fileStore struct {
	mu     sync.Mutex
	path   string
	tokens map[string]uint64 // exactly what the file on disk holds
	closed bool
}

// raise writes token as the highest for name. On failure the file may hold
// the old value or the new one; tokens goes back to the old value, and the
// caller does not admit the token, so memory never claims more than the disk.
func (f *fileStore) raise(name string, token uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	old, had := f.tokens[name]
	f.tokens[name] = token
	if err := f.write(); err != nil {
		if had {
			f.tokens[name] = old
		} else {
			delete(f.tokens, name)
		}
		return err
	}
	return nil
}

// close makes later raises fail. Nothing is held open between writes.
func (f *fileStore) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

// write replaces the file with the contents of tokens: temporary file, fsync,
// rename over path, fsync of the directory so the rename itself is durable.
func (f *fileStore) write() error {
	return atomicfile.WriteFile(f.path, encodeFile(f.tokens), 0o644)
}

// encodeFile renders tokens in the file format, names sorted so that equal
// states give equal files.
func encodeFile(tokens map[string]uint64) []byte {
	names := make([]string, 0, len(tokens))
	for n := range tokens {
		names = append(names, n)
	}
	sort.Strings(names)
	var body bytes.Buffer
	for _, n := range names {
		body.WriteString(strconv.FormatUint(tokens[n], 10))
		body.WriteByte(' ')
		body.WriteString(strconv.Quote(n))
		body.WriteByte('\n')
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%s %s %d %08x\n", fileMagic, fileVersion, len(names),
		crc32.Checksum(body.Bytes(), castagnoli))
	out.Write(body.Bytes())
	return out.Bytes()
}

// decodeFile parses the file format and checks everything it can: header,
// checksum, count, each token and name, no duplicates. Errors say which part
// failed; the caller wraps them in ErrCorrupt.
func decodeFile(data []byte) (map[string]uint64, error) {
	header, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return nil, errors.New("no header line")
	}
	f := strings.Split(string(header), " ")
	if len(f) != 4 || f[0] != fileMagic {
		return nil, fmt.Errorf("bad header %q", header)
	}
	if f[1] != fileVersion {
		return nil, fmt.Errorf("unknown version %q", f[1])
	}
	count, err := strconv.ParseUint(f[2], 10, 32)
	if err != nil {
		return nil, fmt.Errorf("bad count %q", f[2])
	}
	sum, err := strconv.ParseUint(f[3], 16, 32)
	if err != nil || len(f[3]) != 8 {
		return nil, fmt.Errorf("bad checksum field %q", f[3])
	}
	if got := crc32.Checksum(body, castagnoli); got != uint32(sum) {
		return nil, fmt.Errorf("checksum %08x, header says %08x", got, sum)
	}
	tokens := make(map[string]uint64)
	for len(body) > 0 {
		line, rest, ok := bytes.Cut(body, []byte("\n"))
		if !ok {
			return nil, fmt.Errorf("line %d: no newline", len(tokens)+2)
		}
		body = rest
		name, tok, err := decodeLine(string(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", len(tokens)+2, err)
		}
		if _, dup := tokens[name]; dup {
			return nil, fmt.Errorf("line %d: duplicate name %q", len(tokens)+2, name)
		}
		tokens[name] = tok
	}
	if uint64(len(tokens)) != count {
		return nil, fmt.Errorf("%d entries, header says %d", len(tokens), count)
	}
	return tokens, nil
}

// decodeLine parses one "<token> <quoted name>" line.
func decodeLine(line string) (string, uint64, error) {
	ts, qn, ok := strings.Cut(line, " ")
	if !ok {
		return "", 0, fmt.Errorf("malformed entry %q", line)
	}
	tok, err := strconv.ParseUint(ts, 10, 64)
	if err != nil || tok == 0 {
		return "", 0, fmt.Errorf("bad token %q", ts)
	}
	name, err := strconv.Unquote(qn)
	if err != nil {
		return "", 0, fmt.Errorf("bad name %s", qn)
	}
	if err := checkName(name); err != nil {
		return "", 0, err
	}
	return name, tok, nil
}

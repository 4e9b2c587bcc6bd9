package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/internal/atomicfile"
	"github.com/tenure-dev/tenure/protocol"
)

// Files in a data dir. doc.go lists them for users.
const (
	// lockFile is flocked while a process uses the dir (R18). It holds
	// the holder's process id, for the error message of the next one.
	lockFile = "LOCK"
	// identityFile binds the dir to a cluster ID and a node name, and
	// holds the node ID made at the dir's first start (R18): see
	// dirIdentity.
	identityFile = "identity"
	// bootFile counts the starts of this dir, as decimal text and a
	// newline; it rises, durably, at every start before anything is sent
	// (R18: a stale copy of the dir announces a count its peers have seen).
	bootFile = "boot"
	// eraFile holds the durable era floor (R12) as decimal text and a
	// newline. It is rewritten, atomically, each time the era rises.
	eraFile = "era"
	// boundsFile holds what the quarantine after an unclean start must
	// cover (R19): "max_ttl D" and "max_exclusion D" lines, Go durations.
	// Both only rise.
	boundsFile = "bounds"
	// peersFile holds the newest start heard from each other voter (R18),
	// so that even after a crash this voter tells a peer that comes back
	// from a stale copy of its dir: one line per peer, the name quoted as a
	// Go string, then the boot count and the nonce in decimal.
	peersFile = "peers"
	// stateFile holds the protocol.State written at a clean shutdown (R9).
	// It is removed, durably, before a restarted node answers anything.
	stateFile = "state"
)

// store is a node's data dir, locked for as long as the store is open.
// Every write is a temp file, fsync, rename, fsync of the directory, so a
// crash leaves either the old or the new content, never a torn file.
type store struct {
	dir    string
	lock   *os.File        // flocked; nil once closed
	bounds protocol.Bounds // the durable bounds, as last read or written
}

// openStore creates dir if needed and takes its lock; it fails with
// ErrDataDirInUse if another process or Node holds it.
func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	f, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	return &store{dir: dir, lock: f}, nil
}

// close releases the lock. The store must not be written after.
func (s *store) close() {
	if s != nil && s.lock != nil {
		_ = s.lock.Close() // closing the file drops the flock
		s.lock = nil
	}
}

// used reports whether the dir has ever served a node: an era file is
// written before a node sends anything, and a state file only by a node
// that ran. A dir with only an identity or a boot file (a first start
// that failed before its era was durable) never took part in anything.
func (s *store) used() (bool, error) {
	for _, name := range []string{eraFile, stateFile} {
		_, err := os.Stat(filepath.Join(s.dir, name))
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("%w: %w", ErrStorage, err)
		}
	}
	return false, nil
}

// readUint reads a file holding one decimal number; ok is false when the
// file does not exist. A file that does not parse is an error: a floor or
// a counter we cannot read is one we cannot honour, so the node refuses to
// start rather than guess.
func (s *store) readUint(name string, bits int) (v uint64, ok bool, err error) {
	path := filepath.Join(s.dir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	v, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, bits)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %s file %s is corrupt: %w", ErrStorage, name, path, err)
	}
	return v, true, nil
}

// readEra returns the durable era floor; ok is false when no era file
// exists (a data dir never used).
func (s *store) readEra() (era uint32, ok bool, err error) {
	v, ok, err := s.readUint(eraFile, 32)
	return uint32(v), ok, err
}

// writeEra makes era the durable floor.
func (s *store) writeEra(era uint32) error {
	return s.writeFile(eraFile, []byte(strconv.FormatUint(uint64(era), 10)+"\n"))
}

// nextBoot raises the start counter and makes it durable: the returned
// value is this start's (R18). The first start of a dir is 1.
func (s *store) nextBoot() (uint64, error) {
	v, _, err := s.readUint(bootFile, 64)
	if err != nil {
		return 0, err
	}
	if v == 1<<64-1 {
		return 0, fmt.Errorf("%w: boot counter in %s is exhausted", ErrStorage, s.dir)
	}
	v++
	if err := s.writeFile(bootFile, []byte(strconv.FormatUint(v, 10)+"\n")); err != nil {
		return 0, err
	}
	return v, nil
}

// readBounds returns the durable bounds (R19); zero when there is no
// bounds file.
func (s *store) readBounds() (protocol.Bounds, error) {
	path := filepath.Join(s.dir, boundsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return protocol.Bounds{}, nil
	}
	if err != nil {
		return protocol.Bounds{}, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	var out protocol.Bounds
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		d, err := time.ParseDuration(strings.TrimSpace(val))
		if err != nil || d < 0 {
			// The quarantine must cover what this says: refuse to guess.
			return protocol.Bounds{}, fmt.Errorf("%w: bounds file %s line %d is corrupt: %q", ErrStorage, path, i+1, line)
		}
		switch key {
		case "max_ttl":
			out.MaxTTL = d
		case "max_exclusion":
			out.MaxExclusion = d
		}
		// Unknown keys are a later version's: ignored.
	}
	s.bounds = out
	return out, nil
}

// writeBounds makes b durable, raised to cover what is already durable:
// the bounds never fall (R19).
func (s *store) writeBounds(b protocol.Bounds) error {
	b = protocol.Bounds{MaxTTL: max(b.MaxTTL, s.bounds.MaxTTL), MaxExclusion: max(b.MaxExclusion, s.bounds.MaxExclusion)}
	text := fmt.Sprintf("max_ttl %v\nmax_exclusion %v\n", b.MaxTTL, b.MaxExclusion)
	if err := s.writeFile(boundsFile, []byte(text)); err != nil {
		return err
	}
	s.bounds = b
	return nil
}

// readPeers returns the durable memory of the other voters' starts; nil
// when there is no peers file.
func (s *store) readPeers() ([]protocol.PeerIncarnation, error) {
	path := filepath.Join(s.dir, peersFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	var out []protocol.PeerIncarnation
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, err := parsePeer(line)
		if err != nil {
			// A memory we cannot read is one that cannot catch a stale
			// peer: refuse rather than forget silently.
			return nil, fmt.Errorf("%w: peers file %s line %d is corrupt: %v", ErrStorage, path, i+1, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePeer(line string) (protocol.PeerIncarnation, error) {
	q, err := strconv.QuotedPrefix(line)
	if err != nil {
		return protocol.PeerIncarnation{}, err
	}
	name, _ := strconv.Unquote(q)
	f := strings.Fields(line[len(q):])
	if len(f) != 2 {
		return protocol.PeerIncarnation{}, fmt.Errorf("want a quoted name, a boot count and a nonce")
	}
	boot, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return protocol.PeerIncarnation{}, err
	}
	nonce, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return protocol.PeerIncarnation{}, err
	}
	return protocol.PeerIncarnation{Name: name, Incarnation: protocol.Incarnation{Boot: boot, Nonce: nonce}}, nil
}

// writePeers makes the memory of the other voters' starts durable.
func (s *store) writePeers(peers []protocol.PeerIncarnation) error {
	var b strings.Builder
	for _, p := range peers {
		fmt.Fprintf(&b, "%s %d %d\n", strconv.Quote(p.Name), p.Boot, p.Nonce)
	}
	return s.writeFile(peersFile, []byte(b.String()))
}

// takeState reads the clean-shutdown state, if any, and removes it durably
// before returning, so that a later crash can never be mistaken for a clean
// stop (R9). A state file that cannot be decoded is removed too and
// reported as absent: the start then counts as a crash, which is safe.
func (s *store) takeState() (st *protocol.State, bad error, err error) {
	path := filepath.Join(s.dir, stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	st, bad = protocol.DecodeState(b)
	if err := os.Remove(path); err != nil {
		return nil, nil, fmt.Errorf("%w: consume state: %w", ErrStorage, err)
	}
	if err := s.syncDir(); err != nil {
		return nil, nil, err
	}
	if bad != nil {
		return nil, bad, nil
	}
	return st, nil, nil
}

// writeState saves the clean-shutdown state.
func (s *store) writeState(st *protocol.State) error {
	b, err := protocol.EncodeState(st)
	if err != nil {
		return fmt.Errorf("%w: encode state: %w", ErrStorage, err)
	}
	return s.writeFile(stateFile, b)
}

func (s *store) writeFile(name string, data []byte) error {
	if err := atomicfile.WriteFile(filepath.Join(s.dir, name), data, 0o644); err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrStorage, name, err)
	}
	return nil
}

func (s *store) syncDir() error {
	if err := atomicfile.SyncDir(s.dir); err != nil {
		return fmt.Errorf("%w: sync dir: %w", ErrStorage, err)
	}
	return nil
}

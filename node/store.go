package node

import (
	"errors"
	"fmt"
	"github.com/tenure-dev/tenure/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tenure-dev/tenure/protocol"
)

// Files in a data dir.
const (
	// eraFile holds the durable era floor (R12) as decimal text and a
	// newline. It is rewritten, atomically, each time the era rises.
	eraFile = "era"
	// stateFile holds the protocol.State written at a clean shutdown (R9).
	// It is removed, durably, before a restarted node answers anything.
	stateFile = "state"
)

// store is a node's data dir. Every write is a temp file, fsync, rename,
// fsync of the directory, so a crash leaves either the old or the new
// content, never a torn file.
type store struct {
	dir string
}

func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return &store{dir: dir}, nil
}

// readEra returns the durable era floor; ok is false when no era file
// exists (a data dir never used).
func (s *store) readEra() (era uint32, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(s.dir, eraFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil {
		// A floor we cannot read is a floor we cannot honour: refuse to
		// start rather than guess (R12).
		return 0, false, fmt.Errorf("%w: era file %s is corrupt: %w", ErrStorage, filepath.Join(s.dir, eraFile), err)
	}
	return uint32(v), true, nil
}

// writeEra makes era the durable floor.
func (s *store) writeEra(era uint32) error {
	return s.writeFile(eraFile, []byte(strconv.FormatUint(uint64(era), 10)+"\n"))
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

package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tenure-dev/tenure/protocol"
)

// configFile holds the node's durable voter configuration state
// (protocol.ConfigRecord, msgpack): the configuration it adopted and its
// acceptor state in the slot that chooses the next one (R21, R22). It is
// written, atomically, before the messages of the Output that asked for
// it, and given back to the machine at every start. A dir without it has
// never seen a voter change: it runs Config.Voters as epoch 0.
const configFile = "config"

// readConfig returns the durable configuration record; nil when there is
// no config file. A file that cannot be decoded is an error: the node
// would otherwise vote under a configuration it no longer remembers.
func (s *store) readConfig() (*protocol.ConfigRecord, error) {
	path := filepath.Join(s.dir, configFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	r, err := protocol.DecodeConfigRecord(b)
	if err != nil {
		return nil, fmt.Errorf("%w: config file %s is corrupt: %w", ErrStorage, path, err)
	}
	return r, nil
}

// writeConfig makes the configuration record durable.
func (s *store) writeConfig(r *protocol.ConfigRecord) error {
	b, err := protocol.EncodeConfigRecord(r)
	if err != nil {
		return fmt.Errorf("%w: encode config: %w", ErrStorage, err)
	}
	return s.writeFile(configFile, b)
}

// removeConfig deletes the configuration record durably: only for a voter
// list changed by stopping every node (Restored) on a cluster whose voters
// never changed online, whose record then holds nothing but a promise in
// the old list's first slot.
func (s *store) removeConfig() error {
	if err := os.Remove(filepath.Join(s.dir, configFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return s.syncDir()
}

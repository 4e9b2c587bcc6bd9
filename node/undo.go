package node

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dirUndo is what a start found in the data dir before it changed
// anything: the content of each file it may write or remove (nil for a
// file that did not exist). A New that fails before its owner goroutine
// ran puts it back (restoreDir).
//
// Why that is safe: the owner goroutine is the only code that handles a
// datagram or sends a protocol message, and it never ran. This start
// answered nothing, promised nothing and issued no token, so the dir as it
// was still describes everything this voter ever promised (R9, R12, R18,
// R19). In particular a clean-shutdown state consumed by the failed start
// is as valid as before it, and an empty dir stays empty, so a next start
// with NewCluster is fresh, not crashed.
//
// The boot counter is left raised: it only has to rise (R18), the failed
// start's gossip may have carried it, and a counter higher than needed
// costs nothing.
type dirUndo struct {
	files map[string][]byte
}

// undoFiles are the files a start may write or remove before it serves.
var undoFiles = []string{identityFile, eraFile, boundsFile, peersFile, stateFile, configFile}

// snapshot reads the files a start may change.
func (s *store) snapshot() (*dirUndo, error) {
	u := &dirUndo{files: map[string][]byte{}}
	for _, name := range undoFiles {
		b, err := os.ReadFile(filepath.Join(s.dir, name))
		switch {
		case err == nil:
			u.files[name] = b
		case errors.Is(err, fs.ErrNotExist):
			u.files[name] = nil
		default:
			return nil, fmt.Errorf("%w: %w", ErrStorage, err)
		}
	}
	return u, nil
}

// restore puts every file back as snapshot found it. Files the start did
// not change are not touched.
func (s *store) restore(u *dirUndo) error {
	now, err := s.snapshot()
	if err != nil {
		return err
	}
	var errs []error
	changed := false
	for _, name := range undoFiles {
		b := u.files[name]
		if (b == nil) == (now.files[name] == nil) && bytes.Equal(b, now.files[name]) {
			continue
		}
		changed = true
		if b != nil {
			errs = append(errs, s.writeFile(name, b))
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%w: %w", ErrStorage, err))
		}
	}
	if changed {
		errs = append(errs, s.syncDir())
	}
	return errors.Join(errs...)
}

// undoStart restores the data dir after a New that failed before the
// owner goroutine ran (see dirUndo), and closes the store.
func (n *Node) undoStart() {
	if n.store == nil {
		return
	}
	if n.undo != nil && n.store.lock != nil {
		if err := n.store.restore(n.undo); err != nil {
			n.log.Error("failed start: cannot restore the data dir; the next start counts as a crash", "dir", n.cfg.DataDir, "err", err)
		} else {
			n.log.Info("failed start: data dir restored as it was (this start answered nothing)", "dir", n.cfg.DataDir)
		}
	}
	n.store.close()
}

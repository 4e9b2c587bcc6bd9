// Package atomicfile replaces a file's contents durably: after WriteFile
// returns, a crash leaves either the old contents or the new ones, never a
// mix, and the new ones survive a power loss.
//
// It is shared by everything in the project that keeps state on disk (the
// node's era floor and clean-shutdown state, the fence's token file, the
// chaos register), and imports only the standard library.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data: it writes a temporary file in the same
// directory, fsyncs it, renames it over path, and fsyncs the directory so
// that the rename itself is durable. On error the temporary file is
// removed and path is left as it was.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	var serr error
	if werr == nil {
		serr = tmp.Sync()
	}
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, which makes a rename, creation or removal
// inside it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	return errors.Join(serr, d.Close())
}

// ReadOrCreate reads path. If it does not exist, ReadOrCreate writes it
// with initial (durably, as WriteFile does) and reports created, so that a
// directory that cannot be written is found at start, not at the first
// update.
func ReadOrCreate(path string, initial []byte, perm os.FileMode) (data []byte, created bool, err error) {
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := WriteFile(path, initial, perm); err != nil {
			return nil, false, err
		}
		return initial, true, nil
	}
	return data, false, err
}

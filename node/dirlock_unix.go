//go:build unix

package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDir takes the exclusive lock of a data dir (R18): flock on
// dir/LOCK, held until the returned file is closed, and released by the
// kernel when the process dies. A flock belongs to the open file, so a
// second Node in the same process is refused too. The file holds the
// holder's process id, for the error message of the next one.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another process"
			if pid := strings.TrimSpace(string(holder)); pid != "" {
				who = "process " + pid
				if pid == strconv.Itoa(os.Getpid()) {
					who += " (this one: another Node)"
				}
			}
			return nil, fmt.Errorf("%w: DataDir %s is locked by %s; two nodes must never share one data dir", ErrDataDirInUse, dir, who)
		}
		return nil, fmt.Errorf("%w: lock %s: %w", ErrStorage, path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

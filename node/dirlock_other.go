//go:build !unix

package node

import (
	"fmt"
	"os"
	"runtime"
)

// lockDir refuses: this platform has no flock, and a data dir that two
// processes could share unnoticed breaks R18.
func lockDir(dir string) (*os.File, error) {
	return nil, fmt.Errorf("%w: locking DataDir %s is not supported on %s", ErrStorage, dir, runtime.GOOS)
}

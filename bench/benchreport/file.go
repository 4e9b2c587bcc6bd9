package benchreport

import (
	"errors"
	"os"
	"strings"
)

// Markers around the generated part of RESULTS.md: text outside them
// (method, findings, profiles) is kept when the block is regenerated.
const (
	BeginMark = "<!-- BEGIN compare.sh: generated, do not edit by hand -->"
	EndMark   = "<!-- END compare.sh -->"
)

// UpdateFile replaces the generated block of path with block (or appends
// it if path has no markers, or creates the file), keeping everything
// else.
func UpdateFile(path, block string) error {
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return os.WriteFile(path, []byte("# tenure vs etcd: benchmark results\n\n"+block), 0o644)
	}
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, BeginMark), strings.Index(s, EndMark)
	if i < 0 || j < i {
		return os.WriteFile(path, []byte(strings.TrimRight(s, "\n")+"\n\n"+block), 0o644)
	}
	return os.WriteFile(path, []byte(s[:i]+strings.TrimRight(block, "\n")+s[j+len(EndMark):]), 0o644)
}

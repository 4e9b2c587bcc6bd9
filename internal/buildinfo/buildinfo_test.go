package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestBuildInfoFrom checks each fact read from a build's information, and
// the placeholders when the build recorded none.
func TestBuildInfoFrom(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: commit}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "false"}}}
	got := From(bi, true)
	if got.Version != "v1.2.3" || got.Commit != commit || got.Time != "2026-01-02T03:04:05Z" || got.Modified != "false" || got.GoVersion != "go1.99" {
		t.Errorf("From = %+v", got)
	}
	if got.Wire <= 0 {
		t.Errorf("wire version %d, want positive", got.Wire)
	}
	none := From(nil, false)
	if none.Version != "(devel)" || none.Commit != "unknown" || none.Time != "unknown" || none.Modified != "unknown" || none.GoVersion != runtime.Version() {
		t.Errorf("From(nil) = %+v", none)
	}
	if cur := Current(); cur.GoVersion == "" || cur.Version == "" || cur.Commit == "" {
		t.Errorf("Current = %+v: a field is empty", cur)
	}
}

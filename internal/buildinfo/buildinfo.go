// Package buildinfo reads what the Go toolchain recorded about the build
// of the running binary: the module version, the VCS commit and the Go
// version. tenure version prints it and the agent exports it as the
// tenure_build_info metric, from this one reading.
package buildinfo

import (
	"runtime"
	"runtime/debug"

	"github.com/tenure-dev/tenure/protocol"
)

// Info is what is known of a build. Every field is set: a fact the build
// did not record reads "unknown" (or "(devel)" for the module version).
type Info struct {
	// Version is the module version: "v1.2.3", or "(devel)" when built
	// from a checkout.
	Version string
	// Commit is the VCS revision (40 hex digits), or "unknown" when the
	// binary was not built from a VCS checkout.
	Commit string
	// Time is the commit time, RFC 3339, or "unknown".
	Time string
	// Modified is "true" if the tree had uncommitted changes, "false", or
	// "unknown".
	Modified string
	// GoVersion is the Go version that built the binary.
	GoVersion string
	// Wire is the newest protocol wire format version the binary reads,
	// the one it advertises in gossip (older peers get older forms).
	Wire int
	// Mutants is true in a test build with deliberate protocol bugs.
	Mutants bool
}

// From reads bi, as runtime/debug.ReadBuildInfo returns it (ok false: no
// build information at all).
func From(bi *debug.BuildInfo, ok bool) Info {
	v := Info{Version: "(devel)", Commit: "unknown", Time: "unknown", Modified: "unknown",
		GoVersion: runtime.Version(), Wire: int(protocol.WireVersionRuns), Mutants: protocol.MutantsBuild}
	if !ok || bi == nil {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value
		}
	}
	return v
}

// Current is the running binary's Info.
func Current() Info { return From(debug.ReadBuildInfo()) }

package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/tenure-dev/tenure/internal/buildinfo"
)

func init() {
	register("version", "print the version, the source commit and the wire format", runVersion)
}

const versionAbout = `
Prints the module version ("(devel)" when built from a checkout), the
source commit the binary was built from with its time and whether the
tree had uncommitted changes (from the VCS stamp go build records), the Go
version and the wire format version. 'tenure --version' is the same.`

// buildVersion is what tenure version prints, read from the build by
// internal/buildinfo (the agent's tenure_build_info reads the same).
type buildVersion struct {
	module   string // "v1.2.3" or "(devel)"
	commit   string // 40 hex digits, or "unknown" (not built from a VCS checkout)
	time     string // commit time, RFC 3339, or "unknown"
	modified string // "true", "false" or "unknown"
	goVer    string
	wire     int
	mutants  bool
}

// readBuildVersion reads bi (ok false: no build info at all).
func readBuildVersion(bi *debug.BuildInfo, ok bool) buildVersion {
	i := buildinfo.From(bi, ok)
	return buildVersion{module: i.Version, commit: i.Commit, time: i.Time, modified: i.Modified,
		goVer: i.GoVersion, wire: i.Wire, mutants: i.Mutants}
}

// String is the text tenure version prints: one line per fact.
func (v buildVersion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tenure %s\n", v.module)
	commit := v.commit
	if v.modified == "true" {
		commit += " (modified: uncommitted changes)"
	}
	fmt.Fprintf(&b, "  commit  %s\n", commit)
	fmt.Fprintf(&b, "  time    %s\n", v.time)
	fmt.Fprintf(&b, "  go      %s\n", v.goVer)
	fmt.Fprintf(&b, "  wire    version %d\n", v.wire)
	if v.mutants {
		// Only a test build has mutants compiled in: say so loudly.
		b.WriteString("  mutants true (a test build with deliberate protocol bugs: never deploy)\n")
	}
	return b.String()
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	f := newCmdFlags("version", "tenure version", versionAbout)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.NArg() > 0 {
		return f.fail(stderr, "unexpected argument %q", f.Arg(0))
	}
	bi, ok := debug.ReadBuildInfo()
	fmt.Fprint(stdout, readBuildVersion(bi, ok))
	return exitOK
}

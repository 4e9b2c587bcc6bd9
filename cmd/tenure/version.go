package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/tenure-dev/tenure/protocol"
)

func init() {
	register("version", "print the version and wire format", func(args []string, stdout, stderr io.Writer) int {
		v := "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
		fmt.Fprintf(stdout, "tenure %s (wire version %d, mutants=%v)\n", v, protocol.WireVersion, protocol.MutantsBuild)
		return 0
	})
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/bench/benchreport"
)

// cmdReport is `etcdbench report`: the generated block of RESULTS.md from
// the rounds' JSON files (package benchreport), printed and, with --out,
// written between the file's markers.
func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("etcdbench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tglob := fs.String("tenure", "", "glob of tenure bench --json files (required)")
	eglob := fs.String("etcd", "", "glob of etcdbench run --json files (required)")
	out := fs.String("out", "", "RESULTS.md to update between its markers (created if missing)")
	commit := fs.String("commit", "unknown", "the tenure commit measured, as the report names it")
	var cmds, notes stringsFlag
	fs.Var(&cmds, "cmd", "a command that produced the figures (repeatable)")
	fs.Var(&notes, "note", "a line for the notes under the tables (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *tglob == "" || *eglob == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "etcdbench report: --tenure and --etcd are required, and nothing else")
		return 2
	}
	tr, err1 := benchreport.ReadRuns(*tglob)
	er, err2 := benchreport.ReadRuns(*eglob)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintln(stderr, "etcdbench report:", err)
		return 1
	}
	text := benchreport.Render(tr, er, benchreport.Meta{Commit: *commit, Now: time.Now(), Commands: cmds, Notes: notes})
	fmt.Fprint(stdout, text)
	if *out != "" {
		if err := benchreport.UpdateFile(*out, text); err != nil {
			fmt.Fprintln(stderr, "etcdbench report:", err)
			return 1
		}
	}
	return 0
}

type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, "; ") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

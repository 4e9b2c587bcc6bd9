// Command tenure is the one binary of the tenure project: run a node agent,
// take a lease from a shell, inspect a cluster, simulate one, benchmark one.
//
// Each subcommand lives in its own file and registers itself in commands.
// Every subcommand parses its flags with cmdFlags (flags.go), so that help,
// environment variables, usage errors and shell completion (completion.go)
// all come from the one flag set each command defines.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// Exit statuses shared by every command.
const (
	exitOK    = 0 // success; also -h and --help
	exitFail  = 1 // the command failed (an agent unreachable, a violation found)
	exitUsage = 2 // bad usage: a bad flag, argument or variable, or a request the agent refused as bad (400)
)

// command is one subcommand. run gets the arguments after the subcommand
// name and returns the process exit status: 0 success, 1 failure, 2 bad
// usage.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is filled by the init functions of the subcommand files.
var commands = map[string]command{}

func register(name, summary string, run func(args []string, stdout, stderr io.Writer) int) {
	commands[name] = command{summary: summary, run: run}
}

// commandNames is every subcommand name, sorted.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(stderr, "tenure help: unknown command %q (run 'tenure help')\n", args[1])
				return exitUsage
			}
			return c.run([]string{"--help"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	case "-version", "--version":
		return runVersion(args[1:], stdout, stderr)
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tenure: unknown command %q (run 'tenure help')\n", args[0])
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: tenure COMMAND [flags] [ARGS...]")
	fmt.Fprintln(w, "\nPeer-to-peer leases with fencing tokens, no central grantor.")
	fmt.Fprintln(w, "\nCommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'tenure COMMAND --help' for the flags of a command; 'tenure --version' for the build.")
	fmt.Fprintln(w, "Every flag is also read from TENURE_<FLAG> (upper case, dashes as underscores).")
	fmt.Fprintln(w, "Exit status: 0 success, 1 failure, 2 bad usage (tenure lock adds its own: see its --help).")
}

package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/tenure-dev/tenure/api"
)

// cmdFlags is a subcommand's flag set with the conventions every tenure
// command shares: --help prints every flag with its environment variable
// to stdout and exits 0; each flag not given on the command line is read
// from TENURE_<FLAG> (upper case, dashes as underscores); a required flag
// given neither way, a bad flag or a bad variable exits 2 to stderr with a
// message naming it. Values are checked by the command, or by the library
// it configures (tenure agent: node.Config), not here.
type cmdFlags struct {
	*flag.FlagSet
	name     string   // the subcommand
	synopsis string   // "tenure lock [flags] NAME -- CMD [ARGS...]"
	about    string   // paragraphs after the synopsis
	words    []string // what the first argument may be, for completion (nil: files)
	ca       string   // --ca of the client commands (addAgentFlags)
	required []string // flags that must be given (require)
}

// newCmdFlags starts the flag set of subcommand name.
func newCmdFlags(name, synopsis, about string) *cmdFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse reports errors itself
	fs.Usage = func() {}
	return &cmdFlags{FlagSet: fs, name: name, synopsis: synopsis, about: about}
}

// require makes parse refuse to go on unless each flag named is given, on
// the command line or in its variable; --help marks them "(required)".
func (f *cmdFlags) require(names ...string) { f.required = append(f.required, names...) }

// probing, while set, makes parse hand the flag set to it and stop the
// command (exit 0) before it does anything: shell completion reads every
// command's flags this way, from the very tables the commands parse with.
var probing func(*cmdFlags)

// envName is the environment variable of flag name.
func envName(name string) string {
	return "TENURE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// parse parses args, then the environment for flags the command line did
// not set, and checks that the required flags are given. ok is false when
// the command must exit with code: 0 after --help, 2 after a bad flag or
// variable or a required flag missing.
func (f *cmdFlags) parse(args []string, stdout, stderr io.Writer) (code int, ok bool) {
	if probing != nil {
		probing(f)
		return exitOK, false
	}
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.usage(stdout)
			return 0, false
		}
		return f.fail(stderr, "%v", err), false
	}
	set := f.given() // on the command line, so far
	var bad error
	f.VisitAll(func(fl *flag.Flag) {
		if set[fl.Name] || bad != nil {
			return
		}
		if v, found := os.LookupEnv(envName(fl.Name)); found {
			if err := f.Set(fl.Name, v); err != nil {
				bad = fmt.Errorf("invalid value %q for $%s (flag --%s): %v", v, envName(fl.Name), fl.Name, err)
			}
		}
	})
	if bad != nil {
		return f.fail(stderr, "%v", bad), false
	}
	given := f.given()
	for _, name := range f.required {
		if !given[name] {
			return f.fail(stderr, "--%s is required (or $%s)", name, envName(name)), false
		}
	}
	return exitOK, true
}

// given reports the flags set explicitly, on the command line or from the
// environment (parse sets those through the flag set): a command whose
// defaults come from elsewhere (a preset, a mode) overrides only these.
func (f *cmdFlags) given() map[string]bool {
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	return set
}

// fail prints a usage error naming the problem and returns 2.
func (f *cmdFlags) fail(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "tenure %s: %s\nRun 'tenure %s --help' for usage.\n", f.name, fmt.Sprintf(format, args...), f.name)
	return exitUsage
}

// usage prints the synopsis, the description and every flag with its
// default and environment variable.
func (f *cmdFlags) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\n", f.synopsis, strings.TrimSpace(f.about))
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		fmt.Fprintln(w, "Flags: only -h, --help (this text, exit 0).")
		return
	}
	fmt.Fprintln(w, "Flags (each also read from the environment variable shown; the command line wins):")
	f.VisitAll(func(fl *flag.Flag) {
		kind, usage := flag.UnquoteUsage(fl)
		if kind == "value" {
			kind = "list"
		}
		line := "  --" + fl.Name
		if kind != "" {
			line += " " + kind
		}
		fmt.Fprintln(w, line)
		def := ""
		switch {
		case slices.Contains(f.required, fl.Name):
			def = " (required)"
		case fl.DefValue != "" && fl.DefValue != "false" && fl.DefValue != "0" && fl.DefValue != "0s":
			def = fmt.Sprintf(" (default %s)", fl.DefValue)
		}
		fmt.Fprintf(w, "        %s%s [$%s]\n", usage, def, envName(fl.Name))
	})
	fmt.Fprintln(w, "  -h, --help\n        print this text to stdout and exit 0")
}

// stringList is a repeatable flag whose values may also be
// comma-separated: --join a --join b,c.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *stringList) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// addAgentFlags adds the flags every client command uses to reach an
// agent: its URL, its bearer token, and the CA that signed its TLS
// certificate (for an https:// URL).
func addAgentFlags(f *cmdFlags, url, tokenFile *string) {
	f.StringVar(url, "agent", "http://127.0.0.1:7947", "the agent's HTTP API `URL` (https:// for an agent serving TLS)")
	f.StringVar(tokenFile, "http-token-file", "", "`file` holding the agent's bearer token")
	f.addCAFlag()
}

// addCAFlag adds --ca, read by newClient.
func (f *cmdFlags) addCAFlag() {
	f.StringVar(&f.ca, "ca", "", "PEM `file` of the CA certificates to trust for an https:// agent (default: the system's)")
}

// newClient builds the API client from the agent flags of f.
func (f *cmdFlags) newClient(url, tokenFile string) (*api.Client, error) {
	c := &api.Client{BaseURL: url, HTTP: &http.Client{}}
	tlsURL := strings.HasPrefix(url, "https://")
	if !strings.HasPrefix(url, "http://") && !tlsURL {
		return nil, fmt.Errorf("--agent %q: want an http:// or https:// URL", url)
	}
	if f.ca != "" {
		if !tlsURL {
			return nil, fmt.Errorf("--ca is for an https:// agent; --agent is %s", url)
		}
		pool, err := readCAFile(f.ca)
		if err != nil {
			return nil, err
		}
		c.HTTP = api.TLSHTTPClient(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--http-token-file: %v", err)
		}
		c.Token = strings.TrimSpace(string(b))
	}
	return c, nil
}

// readCAFile reads the PEM certificates of --ca into a pool.
func readCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--ca %s: no PEM certificate in it", path)
	}
	return pool, nil
}

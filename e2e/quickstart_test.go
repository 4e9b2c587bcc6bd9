package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// quickstartLines returns the README's three-agent quick start: the go
// build line, the agent lines and the status line, as printed there.
func quickstartLines(t *testing.T) (build string, agents []string, status string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case build == "" && line == "go build -o tenure ./cmd/tenure":
			build = line
		case build != "" && status == "" && strings.HasPrefix(line, "./tenure agent ") && strings.HasSuffix(line, " &"):
			agents = append(agents, strings.TrimSuffix(line, " &"))
		case len(agents) == 3 && status == "" && strings.HasPrefix(line, "./tenure status "):
			status = line
		}
	}
	if build == "" || len(agents) != 3 || status == "" {
		t.Fatalf("README quick start not found: build %q, %d agent lines, status %q", build, len(agents), status)
	}
	return build, agents, status
}

// freePort is a loopback port nothing listens on (TCP and UDP free just
// now).
func freePort(t *testing.T) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
}

// The README's quick start, pasted as printed (only its fixed ports and
// /tmp dirs replaced by free ones, so that runs do not collide), works
// whatever order the agents start in. b and c start first and wait for a
// (join retry); all three start fresh, with no quarantine; status says
// ready with no quarantine, and an acquire is granted.
func TestQuickstartReadme(t *testing.T) {
	build, agents, status := quickstartLines(t)
	dir := t.TempDir()
	ports := map[string]string{}
	portRE := regexp.MustCompile(`127\.0\.0\.1:79\d\d`)
	dirRE := regexp.MustCompile(`/tmp/tenure-[a-z]+`)
	rewrite := func(line string) []string {
		line = portRE.ReplaceAllStringFunc(line, func(p string) string {
			if ports[p] == "" {
				ports[p] = freePort(t)
			}
			return ports[p]
		})
		line = dirRE.ReplaceAllStringFunc(line, func(d string) string { return filepath.Join(dir, filepath.Base(d)) })
		return strings.Fields(line)
	}

	// go build -o tenure ./cmd/tenure, from the module root, into dir.
	args := strings.Fields(build)
	args[3] = filepath.Join(dir, "tenure")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}

	byName := map[string][]string{}
	for _, line := range agents {
		f := rewrite(line)
		for i := range f {
			if f[i] == "--name" && i+1 < len(f) {
				byName[f[i+1]] = f
			}
		}
	}
	for _, n := range []string{"a", "b", "c"} {
		if byName[n] == nil {
			t.Fatalf("README quick start has no agent %s: %q", n, agents)
		}
	}
	logs := map[string]string{}
	start := func(name string) {
		f := byName[name]
		logs[name] = filepath.Join(dir, name+".log")
		lf, err := os.Create(logs[name])
		if err != nil {
			t.Fatal(err)
		}
		c := exec.Command(filepath.Join(dir, "tenure"), f[1:]...)
		c.Dir = dir
		c.Stdout, c.Stderr = lf, lf
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = c.Wait(); lf.Close(); close(exited) }()
		t.Cleanup(func() {
			_ = c.Process.Signal(syscall.SIGKILL)
			<-exited
			if t.Failed() {
				b, _ := os.ReadFile(logs[name])
				t.Logf("agent %s log:\n%s", name, tail(b, 3000))
			}
		})
	}
	logHas := func(name, s string) bool {
		b, _ := os.ReadFile(logs[name])
		return strings.Contains(string(b), s)
	}
	// b and c first: a does not listen yet.
	start("b")
	start("c")
	for _, n := range []string{"b", "c"} {
		waitFor(t, n+" to find nobody to join", func() bool { return logHas(n, "no member to join answered yet") }, nil)
	}
	start("a")
	for _, n := range []string{"a", "b", "c"} {
		waitFor(t, n+" ready", func() bool { return logHas(n, "agent ready") }, nil)
		if !logHas(n, "start=fresh") || logHas(n, "start=crashed") {
			t.Fatalf("agent %s did not start fresh", n)
		}
	}

	sf := rewrite(status)
	var out string
	waitFor(t, "tenure status to say ready", func() bool {
		o, _ := exec.Command(filepath.Join(dir, "tenure"), sf[1:]...).CombinedOutput()
		out = string(o)
		return strings.Contains(out, "ready: yes")
	}, nil)
	if !strings.Contains(out, "quarantine: none") || strings.Contains(out, "quarantined") {
		t.Fatalf("tenure status shows a quarantine:\n%s", out)
	}
	httpA := "http://" + ports["127.0.0.1:7947"]
	var g grant
	if code := call(t, "POST", httpA+"/v1/leases/quickstart", `{}`, &g); code != 200 || g.Token == 0 {
		t.Fatalf("acquire on a: %d %+v\nstatus:\n%s", code, g, out)
	}
}

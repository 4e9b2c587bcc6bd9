//go:build chaos

package chaos

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/chaos/netns"
)

var (
	flagSeed     = flag.Int64("chaos.seed", 0, "seed of the run (0: drawn from the clock and printed)")
	flagDuration = flag.Duration("chaos.duration", 60*time.Second, "how long the nemesis runs in TestChaos")
	flagBroken   = flag.Duration("chaos.broken-duration", 25*time.Second, "how long the nemesis runs in TestChaosDetectsBrokenFence")
	flagDir      = flag.String("chaos.dir", "", "run directory (default: a new one under $TMPDIR)")
	flagKeep     = flag.Bool("chaos.keep", false, "keep the run directory of a passing run")
	flagBin      = flag.String("chaos.bin", "", "prebuilt tenure binary (default: built from ./cmd/tenure)")
	flagRegBin   = flag.String("chaos.register-bin", "", "prebuilt fenced register (default: built from ./chaos/cmd/fenced-register)")
	flagFaults   = flag.String("chaos.faults", "", "comma-separated fault kinds (default: all)")
)

// requireLab skips unless the machine can build a lab: root, ip netns, nft.
func requireLab(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("chaos: needs root for network namespaces and nftables; run as root (CI does): sudo go test -tags chaos ./chaos/...")
	}
	if err := netns.Available(); err != nil {
		t.Skipf("chaos: network namespaces unavailable: %v (apt-get install -y iproute2 nftables)", err)
	}
	// Safety net: Run removes what it made, even when it fails; anything
	// of this process still there at the end is a leak, removed and
	// reported.
	t.Cleanup(func() {
		left, err := netns.SweepProcess(os.Getpid())
		if len(left) > 0 || err != nil {
			t.Errorf("leaked and now removed: %v (err %v)", left, err)
		}
	})
}

// The binaries a run starts, built once per test binary into binDir
// unless given prebuilt.
var (
	buildOnce sync.Once
	binDir    string
	built     map[string]string // package path -> binary
	buildErr  error
)

// Packages of the binaries a run starts: the product's agent and the
// harness's own register.
const (
	tenurePkg   = "github.com/tenure-dev/tenure/cmd/tenure"
	registerPkg = "github.com/tenure-dev/tenure/chaos/cmd/fenced-register"
)

// binaries returns -chaos.bin (or cmd/tenure built) and
// -chaos.register-bin (or chaos/cmd/fenced-register built).
func binaries(t *testing.T) (tenure, register string) {
	t.Helper()
	buildOnce.Do(func() {
		built = map[string]string{}
		for pkg, prebuilt := range map[string]string{tenurePkg: *flagBin, registerPkg: *flagRegBin} {
			if prebuilt != "" {
				built[pkg] = prebuilt
				continue
			}
			if binDir == "" {
				if binDir, buildErr = os.MkdirTemp("", "tenure-chaos-bin-"); buildErr != nil {
					return
				}
			}
			bin := filepath.Join(binDir, filepath.Base(pkg))
			if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
			built[pkg] = bin
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built[tenurePkg], built[registerPkg]
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// fromEnv applies TENURE_CHAOS_SEED and TENURE_CHAOS_DURATION to flags not
// given on the command line, so that `go test -tags chaos ./chaos/...`
// (where -args would reach packages without these flags) can set them.
func fromEnv(t *testing.T) {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for env, name := range map[string]string{"TENURE_CHAOS_SEED": "chaos.seed", "TENURE_CHAOS_DURATION": "chaos.duration"} {
		if v := os.Getenv(env); v != "" && !set[name] {
			if err := flag.Set(name, v); err != nil {
				t.Fatalf("%s=%q: %v", env, v, err)
			}
		}
	}
}

// runConfig prepares a Config with the flags' seed, directory and faults.
func runConfig(t *testing.T, d time.Duration) Config {
	t.Helper()
	seed := *flagSeed
	if seed == 0 {
		seed = time.Now().UnixNano() % 1_000_000_000
	}
	dir := *flagDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", fmt.Sprintf("tenure-chaos-%d-", seed)); err != nil {
			t.Fatal(err)
		}
	} else {
		dir = filepath.Join(dir, fmt.Sprintf("%s-%d", t.Name(), seed))
	}
	bin, regBin := binaries(t)
	cfg := Config{Seed: seed, Duration: d, Binary: bin, RegisterBinary: regBin, Dir: dir, Logf: t.Logf}
	if *flagFaults != "" {
		cfg.Faults = strings.Split(*flagFaults, ",")
	}
	return cfg
}

// replay is the command that reruns t with cfg's seed.
func replay(t *testing.T, cfg Config, durFlag string) string {
	return fmt.Sprintf("go test -tags chaos ./chaos -run '^%s$' -count=1 -v -args -chaos.seed=%d -%s=%v",
		t.Name(), cfg.Seed, durFlag, cfg.Duration)
}

// TestChaos is the short pass (-chaos.duration, default 60s of nemesis):
// every check must pass, and the run must have made progress.
func TestChaos(t *testing.T) {
	requireLab(t)
	fromEnv(t)
	cfg := runConfig(t, *flagDuration)
	cmd := replay(t, cfg, "chaos.duration")
	t.Logf("seed %d, dir %s\nreplay: %s", cfg.Seed, cfg.Dir, cmd)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("harness failure (seed %d, logs in %s): %v\nreplay: %s", cfg.Seed, cfg.Dir, err, cmd)
	}
	res.Figures.Print(os.Stdout)
	if !res.OK() {
		for i, v := range res.Report.Violations {
			if i == 20 {
				t.Errorf("... %d more in %s", len(res.Report.Violations)-i, filepath.Join(cfg.Dir, "violations.txt"))
				break
			}
			t.Errorf("%v", v)
		}
		t.Fatalf("%d violations (seed %d); history.json, linearizability.html and logs in %s\nreplay: %s",
			len(res.Report.Violations), cfg.Seed, cfg.Dir, cmd)
	}
	if len(res.Report.Tenures) == 0 || countOK(res, "ops_write") == 0 {
		t.Fatalf("no progress: %d tenures, writes %s (seed %d, logs in %s)\nreplay: %s",
			len(res.Report.Tenures), res.Figures.Get("ops_write"), cfg.Seed, cfg.Dir, cmd)
	}
	checkSteps(t, cfg, res, cmd)
	if !*flagKeep {
		_ = os.RemoveAll(cfg.Dir)
	}
}

// checkSteps fails t unless the scheduled steps ran as meant: a pass
// guards against an agent stop that frees its clients' leases only if some
// holder restart hit a live holder with a waiter out (at least half of
// them, and at least one), and a stale-copy restart that ran must have
// been quarantined (that is a violation, reported above). Every voter
// change must have completed (issue 17: a 3 -> 5 -> 3 cycle and a
// replacement work while the clients run), and at least one ran.
func checkSteps(t *testing.T, cfg Config, res *Result, cmd string) {
	t.Helper()
	if enabled(cfg, FaultReconfig) {
		done := 0
		for _, r := range res.ReconfigRuns {
			if r.Done {
				done++
			}
			for _, ch := range r.Changes {
				t.Logf("voter change (%s) to %v via %s: epoch %d, %d tries, %v %s", r.Kind, ch.To, ch.Via, ch.Epoch, ch.Tries, ch.Took.Round(time.Millisecond), ch.Err)
			}
		}
		if done == 0 || done < len(res.ReconfigRuns) {
			t.Fatalf("%d voter-change steps, %d completed (seed %d, logs in %s)\nreplay: %s", len(res.ReconfigRuns), done, cfg.Seed, cfg.Dir, cmd)
		}
	}
	if !enabled(cfg, FaultRestartHolder) {
		return
	}
	effective := 0
	for _, h := range res.HolderRestarts {
		if h.Effective {
			effective++
		}
	}
	if n := len(res.HolderRestarts); n == 0 || effective == 0 || 2*effective < n {
		for _, h := range res.HolderRestarts {
			t.Logf("holder restart of %s: effective %v, %v left, notes %q", h.Agent, h.Effective, h.Left, h.Notes)
		}
		t.Fatalf("%d holder restarts, %d effective: the pass did not test agent restarts under a holder (seed %d, logs in %s)\nreplay: %s",
			n, effective, cfg.Seed, cfg.Dir, cmd)
	}
}

// countOK reads the "N ok" count of a per-kind figure.
func countOK(res *Result, name string) int {
	var n int
	_, _ = fmt.Sscanf(res.Figures.Get(name), "%d ok", &n)
	return n
}

// TestChaosDetectsBrokenFence runs the register with its fence off
// (fenced-register --unsafe-no-fence) and many stalled clients: the checks must report the
// stale writes it lets through. A pass here would mean the harness cannot
// see the failure it exists to find.
func TestChaosDetectsBrokenFence(t *testing.T) {
	requireLab(t)
	fromEnv(t)
	cfg := runConfig(t, *flagBroken)
	cfg.UnsafeNoFence = true
	cfg.ZombieRate = 0.3
	cmd := replay(t, cfg, "chaos.broken-duration")
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("harness failure (seed %d, logs in %s): %v\nreplay: %s", cfg.Seed, cfg.Dir, err, cmd)
	}
	res.Figures.Print(os.Stdout)
	found := map[string]int{}
	for _, v := range res.Report.Violations {
		found[v.Check]++
	}
	// Only the register is broken: the leases themselves must still hold.
	for _, v := range res.Report.Violations {
		if v.Check == "overlap" || v.Check == "tokens" || v.Check == "quarantine" {
			t.Errorf("lease violation with only the fence broken: %v", v)
		}
	}
	if t.Failed() {
		_ = res.Report.WriteArtifacts(cfg.Dir, res.History)
		t.Fatalf("seed %d, artifacts in %s\nreplay: %s", cfg.Seed, cfg.Dir, cmd)
	}
	if found["stale-write"] == 0 && found["linearizability"] == 0 {
		t.Fatalf("the checks missed a register without a fence: violations %v (seed %d, dir %s)\nreplay: %s",
			found, cfg.Seed, cfg.Dir, cmd)
	}
	if *flagKeep {
		t.Logf("broken fence detected as expected: %v; artifacts in %s", found, cfg.Dir)
	} else {
		t.Logf("broken fence detected as expected: %v (-chaos.keep keeps the artifacts)", found)
		_ = os.RemoveAll(cfg.Dir)
	}
}

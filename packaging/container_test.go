package packaging_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// podman runs podman with the options this machine needs, and returns its
// standard output. Its kernel mounts a hybrid cgroup hierarchy, which crun
// (podman's default runtime on Debian) refuses ("cgroups in hybrid mode not
// supported"), so runc is used when installed. The default limits podman
// asks for (nofile and nproc above the host's) cannot be set without
// CAP_SYS_RESOURCE, so the container gets lower ones (only 200 open files
// are needed).
func podman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := podmanErr(args...)
	if err != nil {
		t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func podmanErr(args ...string) (string, error) {
	var global []string
	if _, err := exec.LookPath("runc"); err == nil {
		global = []string{"--runtime", "runc", "--cgroup-manager", "cgroupfs"}
	}
	cmd := exec.Command("podman", append(global, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, stderr.String())
	}
	return string(out), nil
}

var limits = []string{"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"}

// TestContainerImage builds the image with build.sh and smoke-tests it:
// `tenure version`, then a one-node agent serving on a published port with
// a bearer token, its data dir on the image's volume. It answers /healthz,
// stops on `podman stop` (SIGTERM) with status 0, and starts again from
// the same volume as a clean start (no quarantine): the data dir lives.
func TestContainerImage(t *testing.T) {
	needTool(t, "podman", "podman")
	image := fmt.Sprintf("localhost/tenure-smoke:%d", os.Getpid())
	out, err := exec.Command("./container/build.sh", image).Output()
	if err != nil {
		t.Fatalf("container/build.sh: %v\n%s", err, errText(err))
	}
	if got := lastLine(string(out)); got != image {
		t.Fatalf("build.sh printed %q last, want the image name %q", got, image)
	}
	t.Cleanup(func() { _, _ = podmanErr("rmi", "-f", image) })

	ver := podman(t, append(append([]string{"run", "--rm"}, limits...), image, "version")...)
	if !strings.HasPrefix(ver, "tenure ") {
		t.Fatalf("tenure version in the container printed %q", ver)
	}

	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("c21va2UtdGVzdC10b2tlbg==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(token, 65532, 65532); err != nil {
		t.Fatalf("chown the token file to the image's user: %v", err)
	}
	name := fmt.Sprintf("tenure-smoke-%d", os.Getpid())
	args := append([]string{"run", "-d", "--name", name, "-p", "127.0.0.1::7947", "-v", token + ":/etc/tenure/token:ro"}, limits...)
	args = append(args, "-e", "TENURE_NAME=a", "-e", "TENURE_VOTERS=a", "-e", "TENURE_BIND=127.0.0.1:7946",
		"-e", "TENURE_HTTP=0.0.0.0:7947", "-e", "TENURE_HTTP_TOKEN_FILE=/etc/tenure/token", "-e", "TENURE_NEW_CLUSTER=true",
		image, "agent")
	podman(t, args...)
	t.Cleanup(func() { _, _ = podmanErr("rm", "-f", "-v", "-t", "0", name) })

	addr := strings.TrimSpace(podman(t, "port", name, "7947/tcp"))
	if addr == "" {
		t.Fatal("podman port: no address for 7947/tcp")
	}
	waitHealthy(t, name, "http://"+addr+"/healthz")
	if logs := allLogs(name); !strings.Contains(logs, "data_dir=/var/lib/tenure") {
		t.Fatalf("the agent does not run on the image's data dir:\n%s", allLogs(name))
	}

	podman(t, "stop", "-t", "30", name)
	if code := strings.TrimSpace(podman(t, "inspect", "--format", "{{.State.ExitCode}}", name)); code != "0" {
		t.Fatalf("after podman stop the agent exited %s, want 0\n%s", code, allLogs(name))
	}
	podman(t, "start", name)
	addr = strings.TrimSpace(podman(t, "port", name, "7947/tcp"))
	waitHealthy(t, name, "http://"+addr+"/healthz")
	if logs := allLogs(name); strings.Count(logs, "start=clean") != 1 {
		t.Fatalf("the restart on the same volume is not a clean start:\n%s", logs)
	}
}

// waitHealthy polls url until it answers 200, for at most a minute.
func waitHealthy(t *testing.T, name, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not healthy within a minute (last: %s)\n%s", url, last, allLogs(name))
		case <-tick.C:
		}
	}
}

// allLogs is the container's output, both streams.
func allLogs(name string) string {
	out, err := exec.Command("podman", "logs", name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(podman logs: %v) %s", err, out)
	}
	return string(out)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func errText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

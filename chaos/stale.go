package chaos

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tenure-dev/tenure/chaos/check"
)

// StaleRestart is one run of the stale-copy step (FaultStaleDir): a voter's
// data dir is copied, the cluster grants more, the voter is killed, the
// copy put back and the voter started on it. Its state is then stale (it
// forgot promises and acceptances it made after the copy), so it must sit
// out the quarantine (R18) before it answers again.
type StaleRestart struct {
	// Voter is the voter restarted.
	Voter string
	// Copy says when the copy was taken: "clean-stop" (after SIGTERM, the
	// copy holds the clean-shutdown state: a backup taken at a clean stop)
	// or "live" (while the agent ran).
	Copy string
	// Grants counts the grants the clients saw between the copy and the
	// kill.
	Grants int
	// Quarantined says the restarted voter reported the quarantine;
	// Evidence is what it reported (tenure_quarantined on /metrics and
	// its "starting" log line).
	Quarantined bool
	Evidence    string
	// Control is what the genuine clean restart right after a clean-stop
	// copy reported, read the same way: it shows the reading tells a
	// stale start from a clean one (a clean start is confirmed by its
	// peers within a round trip). Not asserted: a clean start with too
	// few peers answering is quarantined too, and rightly.
	Control string
}

// quarantineWindow is how long a restarted voter must keep reporting the
// quarantine: far more than the round trip in which peers confirm a clean
// start, half the quarantine of a crashed start (MaxTTL, 2 TTLs in the
// chaos test) at most.
func quarantineWindow(ttl time.Duration) time.Duration { return min(time.Second, ttl) }

// staleRestart runs the stale-copy step (see StaleRestart). Copies alternate
// between a clean stop and a live agent, the clean stop first: a voter
// restarted from a clean-stop copy finds a clean-shutdown state that is no
// longer true, the case a naive start takes as fresh. A restarted voter
// that does not report the quarantine is a violation ("quarantine").
func (n *nemesis) staleRestart(ctx context.Context) (string, error) {
	c := n.c
	var voters []*agentNode
	for _, a := range n.shuffled() {
		a.mu.Lock()
		eph := a.ephemeral
		a.mu.Unlock()
		if a.voter && !eph {
			voters = append(voters, a)
		}
	}
	if len(voters) == 0 {
		return "skipped: every voter runs without its data dir", nil
	}
	v := voters[0]
	n.mu.Lock()
	mode := "clean-stop"
	if len(n.staleRuns)%2 == 1 {
		mode = "live"
	}
	n.mu.Unlock()
	run := StaleRestart{Voter: v.spec.Name, Copy: mode}
	copyDir := filepath.Join(c.cfg.Dir, v.spec.Name, fmt.Sprintf("stale-copy-%d", n.clock()))

	// 1. The copy.
	if mode == "clean-stop" {
		if !v.current().term(10 * time.Second) {
			run.Copy = "clean-stop (did not stop in 10s: killed)"
		}
	}
	if err := copyTree(v.spec.DataDir, copyDir); err != nil {
		return v.spec.Name, fmt.Errorf("copy of the data dir: %w", err)
	}
	if mode == "clean-stop" {
		if err := c.startAgent(v, false); err != nil {
			return v.spec.Name, err
		}
		// The control: this clean start is genuine, so its peers confirm
		// it and its quarantine ends at once (unless too few answer).
		qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		held, reading, err := quarantineHeld(qctx, v.spec.HTTP, c.token, quarantineWindow(c.cfg.TTL))
		cancel()
		run.Control = fmt.Sprintf("quarantined %v: %s", held, reading)
		if err != nil {
			run.Control = err.Error()
		}
	}

	// 2. The cluster grants more: at least three grants, or 4 TTLs.
	before := n.rec.grants.Load()
	gctx, cancel := context.WithTimeout(ctx, 4*c.cfg.TTL)
	waitUntil(gctx, func() bool { return n.rec.grants.Load() >= before+3 })
	cancel()
	run.Grants = int(n.rec.grants.Load() - before)

	// 3. Kill, put the copy back, restart.
	if err := v.current().kill(); err != nil {
		return v.spec.Name, err
	}
	if err := os.RemoveAll(v.spec.DataDir); err != nil {
		return v.spec.Name, err
	}
	if err := copyTree(copyDir, v.spec.DataDir); err != nil {
		return v.spec.Name, fmt.Errorf("restoring the copy: %w", err)
	}
	logStart := fileSize(v.logPath(c.cfg.Dir))
	if err := c.startAgent(v, false); err != nil {
		return v.spec.Name, err
	}

	// 4. The quarantine, as the voter reports it.
	qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	held, reading, merr := quarantineHeld(qctx, v.spec.HTTP, c.token, quarantineWindow(c.cfg.TTL))
	cancel()
	line := startingLine(v.logPath(c.cfg.Dir), logStart)
	// The metric decides; the log only when the metrics never answered.
	run.Quarantined = held
	run.Evidence = reading + "; log: " + line
	if merr != nil {
		run.Quarantined = logSaysQuarantine(line)
		run.Evidence = fmt.Sprintf("/metrics: %v; log: %s", merr, line)
	}
	n.mu.Lock()
	n.staleRuns = append(n.staleRuns, run)
	if !run.Quarantined {
		n.violations = append(n.violations, check.Violation{Check: "quarantine",
			Detail: fmt.Sprintf("voter %s restarted from a stale copy of its data dir (%s copy, %d grants since) did not sit out the quarantine (R18): %s",
				v.spec.Name, run.Copy, run.Grants, run.Evidence)})
	}
	n.mu.Unlock()
	verdict := "quarantined"
	if !run.Quarantined {
		verdict = "NOT quarantined"
	}
	detail := fmt.Sprintf("%s (%s copy, %d grants since): %s: %s", v.spec.Name, run.Copy, run.Grants, verdict, run.Evidence)
	if run.Control != "" {
		detail += "; control, the clean restart before: " + run.Control
	}
	return detail, nil
}

// waitUntil polls cond every 20 ms until it holds or ctx ends.
func waitUntil(ctx context.Context, cond func() bool) bool {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// quarantineHeld scrapes the agent's /metrics from its first answer for
// window and reports whether tenure_quarantined read 1 every time, with a
// description of what it read. A voter that starts clean reads 1 only
// until its peers confirm the start (R18), a round trip; a stale start
// becomes a crashed start and stays quarantined for about MaxTTL. A window
// well between the two tells them apart.
func quarantineHeld(ctx context.Context, addr, token string, window time.Duration) (bool, string, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var first time.Time
	reads := 0
	for {
		v, answered, err := scrapeMetric(ctx, addr, token, "tenure_quarantined")
		if err != nil {
			return false, "", err
		}
		if answered {
			if first.IsZero() {
				first = time.Now()
			}
			reads++
			since := time.Since(first)
			if v != "1" {
				return false, fmt.Sprintf("tenure_quarantined %q %v after the first /metrics answer (read %d times)", v, since.Round(time.Millisecond), reads), nil
			}
			if since >= window {
				left, _, _ := scrapeMetric(ctx, addr, token, "tenure_quarantine_remaining_seconds")
				return true, fmt.Sprintf("tenure_quarantined 1 throughout %v from the first /metrics answer (read %d times; %ss left)", window, reads, left), nil
			}
		}
		select {
		case <-ctx.Done():
			return false, "", fmt.Errorf("no /metrics answers from %s for %v: %w", addr, window, ctx.Err())
		case <-tick.C:
		}
	}
}

// scrapeMetric reads the agent's /metrics once and returns the value of the
// unlabelled metric name ("" if missing). answered is false if the agent
// could not be reached (it may be starting); an answer other than 200 is an
// error.
func scrapeMetric(ctx context.Context, addr, token, name string) (value string, answered bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return "", false, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	switch {
	case err != nil:
		return "", false, nil
	case resp.StatusCode != http.StatusOK:
		return "", true, fmt.Errorf("/metrics of %s answered %d: %s", addr, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return metricValue(string(body), name), true, nil
}

// metricValue returns the value of an unlabelled metric in a Prometheus
// text exposition, or "".
func metricValue(text, name string) string {
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == name {
			return f[1]
		}
	}
	return ""
}

// startingLine returns the first line after offset of the log at path that
// records the node's start ("msg=starting"), or "".
func startingLine(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, "msg=starting") && strings.Contains(l, "start=") {
			return l
		}
	}
	return ""
}

// logSaysQuarantine reports whether a node's "starting" line records a
// start that sits out a quarantine: a crashed or stale start with a
// quarantine other than zero.
func logSaysQuarantine(line string) bool {
	var start, quarantine string
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "start="); ok {
			start = v
		}
		if v, ok := strings.CutPrefix(f, "quarantine="); ok {
			quarantine = v
		}
	}
	return start != "" && start != "clean" && start != "fresh" && quarantine != "" && quarantine != "0s"
}

// fileSize is the size of the file at path, 0 if it cannot be read.
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// copyTree copies the directory tree src to dst (which must not exist):
// directories, regular files with their modes, nothing else. Files that
// vanish while it runs (an agent replacing a file) are skipped.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path != src {
				return nil
			}
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, info.Mode().Perm())
		case d.Type().IsRegular():
			b, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				return nil
			}
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, info.Mode().Perm())
		}
		return nil
	})
}

package chaos

import (
	"fmt"
	"io"
	"time"

	"github.com/tenure-dev/tenure/chaos/check"
)

// Figure is one `name: value` line of a run's summary.
type Figure struct {
	Name  string
	Value string
}

// Figures is a run's summary, in print order.
type Figures []Figure

// Print writes one `name: value` line per figure.
func (fs Figures) Print(w io.Writer) {
	for _, f := range fs {
		fmt.Fprintf(w, "%s: %s\n", f.Name, f.Value)
	}
}

// Get returns the value of the named figure, or "".
func (fs Figures) Get(name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// figures computes the summary of a checked run.
func figures(cfg Config, h *check.History, r *check.Report, faultCounts map[string]int, zombies int64, nemesisTime time.Duration) Figures {
	fs := Figures{
		{"seed", fmt.Sprint(cfg.Seed)},
		{"nemesis_duration", nemesisTime.Round(time.Second).String()},
		{"agents", fmt.Sprintf("%d (%d voters)", cfg.Voters+cfg.NonVoters, cfg.Voters)},
		{"clients", fmt.Sprint((cfg.Voters + cfg.NonVoters) * cfg.Keys)},
		{"unsafe_no_fence", fmt.Sprint(cfg.UnsafeNoFence)},
	}
	total := 0
	for _, k := range AllFaults {
		fs = append(fs, Figure{"faults_" + k, fmt.Sprint(faultCounts[k])})
		total += faultCounts[k]
	}
	fs = append(fs, Figure{"faults_" + FaultZombie, fmt.Sprint(zombies)})
	fs = append(fs, Figure{"faults_total", fmt.Sprint(total + int(zombies))})

	var attempted, ok, failed, unknown int
	perKind := map[check.Kind][3]int{}
	var staleRejected, zombieRejected int
	for _, op := range h.Ops {
		if op.Final {
			continue
		}
		attempted++
		c := perKind[op.Kind]
		switch op.Outcome {
		case check.Ok:
			ok++
			c[0]++
		case check.Fail:
			failed++
			c[1]++
		default:
			unknown++
			c[2]++
		}
		perKind[op.Kind] = c
		if op.Kind == check.Write && op.Stale {
			staleRejected++
			if op.Zombie {
				zombieRejected++
			}
		}
	}
	fs = append(fs,
		Figure{"ops_attempted", fmt.Sprint(attempted)},
		Figure{"ops_ok", fmt.Sprint(ok)},
		Figure{"ops_failed", fmt.Sprint(failed)},
		Figure{"ops_unknown", fmt.Sprint(unknown)},
	)
	for _, k := range []check.Kind{check.Acquire, check.KeepAlive, check.Release, check.Read, check.Write} {
		c := perKind[k]
		fs = append(fs, Figure{fmt.Sprintf("ops_%s", k), fmt.Sprintf("%d ok / %d failed / %d unknown", c[0], c[1], c[2])})
	}
	fs = append(fs,
		Figure{"tenures", fmt.Sprint(len(r.Tenures))},
		Figure{"stale_writes_rejected", fmt.Sprint(staleRejected)},
		Figure{"zombie_writes", fmt.Sprintf("%d (%d rejected as stale)", zombies, zombieRejected)},
		Figure{"linearizability", string(r.Linearizability)},
		Figure{"violations", fmt.Sprint(len(r.Violations))},
	)
	underFaults, quiet := availability(h)
	fs = append(fs,
		Figure{"availability_under_faults", underFaults},
		Figure{"availability_quiet", quiet},
	)
	return fs
}

// availability is the share of one-second windows, per key, in which at
// least one write was acknowledged, split by whether a fault was active in
// the window. Windows before the first and after the last fault-free
// operation count too: the clients ran throughout. The holder-restart
// step's key is left out: only that step writes it.
func availability(h *check.History) (underFaults, quiet string) {
	var end int64
	keySet := map[string]bool{}
	for _, op := range h.Ops {
		if !op.Final && op.Key != HolderKey {
			end = max(end, op.End)
			keySet[op.Key] = true
		}
	}
	const win = int64(time.Second)
	n := int(end/win) + 1
	faulty := make([]bool, n)
	for _, f := range h.Faults {
		for i := max(0, f.Start/win); i <= f.End/win && int(i) < n; i++ {
			faulty[i] = true
		}
	}
	acked := map[string][]bool{}
	for k := range keySet {
		acked[k] = make([]bool, n)
	}
	for _, op := range h.Ops {
		if op.Kind == check.Write && op.Outcome == check.Ok && !op.Final && op.Key != HolderKey {
			acked[op.Key][op.End/win] = true
		}
	}
	var fTot, fOK, qTot, qOK int
	for _, a := range acked {
		for i := range n {
			if faulty[i] {
				fTot++
				if a[i] {
					fOK++
				}
			} else {
				qTot++
				if a[i] {
					qOK++
				}
			}
		}
	}
	ratio := func(ok, tot int) string {
		if tot == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.3f (%d of %d key-seconds)", float64(ok)/float64(tot), ok, tot)
	}
	return ratio(fOK, fTot), ratio(qOK, qTot)
}

// stepFigures summarises the scheduled steps: holder restarts (how many
// tested what they are for, and the failover: when the waiter was granted
// after the holder stopped) and stale-copy restarts (how many were
// quarantined).
func stepFigures(res *Result) Figures {
	effective, granted := 0, 0
	var lo, hi time.Duration
	for _, h := range res.HolderRestarts {
		if h.Effective {
			effective++
		}
		if d, ok := h.Failover(); ok {
			if granted == 0 || d < lo {
				lo = d
			}
			if granted == 0 || d > hi {
				hi = d
			}
			granted++
		}
	}
	failover := "n/a"
	if granted > 0 {
		failover = fmt.Sprintf("waiter granted in %d of %d, %v to %v after the holder's end (negative: both held at once)",
			granted, len(res.HolderRestarts), lo.Round(time.Millisecond), hi.Round(time.Millisecond))
	}
	quarantined := 0
	for _, s := range res.StaleRestarts {
		if s.Quarantined {
			quarantined++
		}
	}
	return Figures{
		{"holder_restarts", fmt.Sprintf("%d (%d effective: >= TTL/2 left and a waiter out at the SIGTERM)", len(res.HolderRestarts), effective)},
		{"holder_restart_failover", failover},
		{"stale_restarts", fmt.Sprintf("%d (%d quarantined)", len(res.StaleRestarts), quarantined)},
		{"voter_changes", reconfigFigure(res.ReconfigRuns)},
	}
}

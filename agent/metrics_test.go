package agent

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/internal/buildinfo"
)

// TestMetricsBuildInfoAndCollectors checks that /metrics carries
// tenure_build_info with the build's labels, the Go runtime's and the
// process's collectors, and every acquire outcome's latency series from
// the start.
func TestMetricsBuildInfoAndCollectors(t *testing.T) {
	f := newFixture(t, "")
	bi := buildinfo.Current()
	series := `tenure_build_info{commit="` + bi.Commit + `",goversion="` + bi.GoVersion + `",version="` + bi.Version + `",wire="` + strconv.Itoa(bi.Wire) + `"}`
	if v := f.metric(series); v != 1 {
		t.Errorf("%s = %v, want 1", series, v)
	}
	for _, s := range []string{"go_goroutines", "go_threads", "process_start_time_seconds", "process_open_fds"} {
		if v := f.metric(s); v <= 0 {
			t.Errorf("%s = %v, want a positive value", s, v)
		}
	}
	for _, o := range []string{"granted", "held", "contended", "unavailable", "canceled", "error"} {
		if v := f.metric(`tenure_acquire_duration_seconds_count{outcome="` + o + `"}`); v != 0 {
			t.Errorf("acquire latency of outcome %s: %v before any acquire, want 0", o, v)
		}
	}
}

// TestMetricsRenewalLatency checks that a lease held through the agent
// has its renewals timed in tenure_renewal_duration_seconds.
func TestMetricsRenewalLatency(t *testing.T) {
	f := newFixture(t, "")
	if v := f.metric("tenure_renewal_duration_seconds_count"); v != 0 {
		t.Fatalf("renewals timed before any lease: %v", v)
	}
	if code, b := f.do("POST", "/v1/leases/r", `{"ttl":"200ms","hold":false}`); code != http.StatusOK {
		t.Fatalf("acquire: %d %s", code, b)
	}
	f.eventually("a timed renewal", func() bool { return f.metric("tenure_renewal_duration_seconds_count") >= 1 })
	sum := f.metric("tenure_renewal_duration_seconds_sum")
	if sum <= 0 || sum > 20 {
		t.Errorf("renewal latency sum %vs", sum)
	}
	if v := f.metric(`tenure_renewal_duration_seconds_bucket{le="+Inf"}`); v < 1 {
		t.Errorf("+Inf bucket %v", v)
	}
}

// TestMetricsUnavailableAcquireLatency checks that an acquire refused
// 503 is timed under outcome="unavailable", and counted by its reason.
func TestMetricsUnavailableAcquireLatency(t *testing.T) {
	f := newVotersFixture(t, []string{"a"}, false, 30*time.Second) // a crashed lone voter: quarantined
	code, b := f.do("POST", "/v1/leases/x", `{}`)
	if code != http.StatusServiceUnavailable || !strings.Contains(string(b), "quarantined") {
		t.Fatalf("acquire in quarantine: %d %s", code, b)
	}
	if v := f.metric(`tenure_acquire_duration_seconds_count{outcome="unavailable"}`); v != 1 {
		t.Errorf("unavailable acquires timed: %v, want 1", v)
	}
	if v := f.metric(`tenure_acquire_duration_seconds_count{outcome="held"}`) + f.metric(`tenure_acquire_duration_seconds_count{outcome="contended"}`); v != 0 {
		t.Errorf("held+contended timed: %v, want 0", v)
	}
	if v := f.metric(`tenure_unavailable_total{reason="quarantined"}`); v != 1 {
		t.Errorf("quarantined refusals %v, want 1", v)
	}
}

package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestConfig checks that etcd runs tenure bench's workloads (except the
// 10⁵-lease hold) and refuses what etcd cannot do.
func TestConfig(t *testing.T) {
	d := defaultConfig()
	if !slices.Equal(d.Workers, []int{1, 8, 32, 128}) || !slices.Equal(d.Leases, []int{10_000}) || d.FailoverTTL != 2*time.Second {
		t.Errorf("default %+v: want workers 1,8,32,128, 10⁴ locks, failover TTL 2s", d.Workload)
	}
	if err := d.check(); err != nil {
		t.Errorf("default: %v", err)
	}
	if q := quickConfig(); !q.Quick || q.check() != nil {
		t.Errorf("quick %+v: %v", q, q.check())
	}
	d.HoldTTL = 1500 * time.Millisecond
	if err := d.check(); err == nil || !strings.Contains(err.Error(), "whole seconds") {
		t.Errorf("TTL 1.5s: %v, want a refusal naming whole seconds", err)
	}
	d = defaultConfig()
	d.Phases = []string{"curve", "nope"}
	if err := d.check(); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown phase: %v", err)
	}
}

// TestRunFlags checks that bad flags exit 2, before any connection.
func TestRunFlags(t *testing.T) {
	for _, args := range [][]string{
		{"run"},
		{"run", "--endpoints", "http://x", "--workers", "0"},
		{"run", "--endpoints", "http://x", "--failover-ttl", "1500ms"},
		{"run", "--endpoints", "http://x", "--leases", "10,5"},
		{"run", "--endpoints", "http://x", "--server-pids", "a"},
		{"report", "--tenure", "x"},
		{"nope"},
	} {
		var out, errb bytes.Buffer
		if code := realMain(args, &out, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errb.String())
		}
	}
}

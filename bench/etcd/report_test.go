package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRenderAndUpdate builds a table from two rounds per side and checks
// the aggregation (median; worst failover), the verdicts, and that
// updating RESULTS.md keeps the text outside the generated block.
func TestRenderAndUpdate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := `"machine":{"nproc":2,"cpu_model":"Test CPU","go":"go1.26","os":"linux/amd64"}`
	write("tenure-1.json", `{"system":"tenure","acquire_p50_us":100,"acquire_p99_us":400,"throughput_per_s":3000,"failover_ms":1500,"failover_bound_ms":2104,"failover_runs_ms":[1200,1500],"renew_packets_per_s":50,"cpu_percent":2,"bytes_per_lease":1000,`+m+`}`)
	write("tenure-2.json", `{"system":"tenure","acquire_p50_us":300,"acquire_p99_us":600,"throughput_per_s":5000,"failover_ms":2200,"failover_bound_ms":2104,"renew_packets_per_s":70,"cpu_percent":4,"bytes_per_lease":3000,`+m+`}`)
	write("etcd-1.json", `{"system":"etcd","acquire_p50_us":1000,"acquire_p99_us":1000,"throughput_per_s":500,"failover_ms":2500,"cpu_percent":1,"bytes_per_lease":300,`+m+`}`)
	write("etcd-2.json", `{"system":"etcd","acquire_p50_us":1000,"acquire_p99_us":1000,"throughput_per_s":500,"failover_ms":2600,"cpu_percent":1,"bytes_per_lease":300,`+m+`}`)
	tr, err := readRuns(filepath.Join(dir, "tenure-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	er, err := readRuns(filepath.Join(dir, "etcd-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	text := render(tr, er, []string{"bench/compare.sh"}, nil, time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC))
	for _, want := range []string{
		"| acquire p50 (µs) `acquire_p50_us` | 1000 | 200 | 0.20 | tenure ≤ etcd/4 | yes |",
		"| acquire p99 (µs) `acquire_p99_us` | 1000 | 500 | 0.50 | tenure ≤ etcd/2 | yes |",
		"| throughput, independent leases (/s) `throughput_per_s` | 500 | 4000 | 8.00 | tenure ≥ 5 × etcd | yes |",
		"`failover_ms` | 2600 | 2200 | 0.85 | tenure ≤ TTL·(1+2ε)+100ms | **no** |",
		"`renew_packets_per_s` | n/a | 60.0 | n/a | tenure < 100 | yes |",
		"`bytes_per_lease` | 300 | 2000 | 6.67 | tenure < 2048 | yes |",
		"Test CPU", "2026-01-02 03:04 UTC", "    bench/compare.sh",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	out := filepath.Join(dir, "RESULTS.md")
	if err := os.WriteFile(out, []byte("# Results\n\nFindings above.\n\n"+beginMark+"\nold\n"+endMark+"\n\nFindings below.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateFile(out, text); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	s := string(b)
	if strings.Contains(s, "\nold\n") || !strings.Contains(s, "Findings above.") || !strings.Contains(s, "Findings below.") || strings.Count(s, beginMark) != 1 {
		t.Errorf("update lost or duplicated text:\n%s", s)
	}
}

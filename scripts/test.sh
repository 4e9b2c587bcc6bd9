#!/usr/bin/env bash
# The project's whole test suite: what README.md calls "run the tests" and
# what CI (.ci/run) runs. Every step must pass; the first failure stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi

echo "== go vet (plain and with the mutants tag)"
go vet ./...
go vet -tags mutants ./...

# Packages whose tests use rapid accept -rapid.nofailfile (CI must not write
# failure files); the others would refuse the flag.
all=$(go list ./...)
rapid=$(go list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | awk '/pgregory.net\/rapid/ {print $1}')
plain=$(comm -23 <(echo "$all" | sort) <(echo "$rapid" | sort))

# packaging/ checks the systemd unit with systemd-analyze and builds and runs
# the container image with podman (runc: crun refuses hybrid cgroups); docs/
# checks a scrape of /metrics with promtool (package prometheus); with
# CI=true a missing tool fails those tests. Debian's packages provide them.
if [ "$(id -u)" = 0 ] && ! { command -v systemd-analyze && command -v podman && command -v runc && command -v promtool; } >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd podman runc prometheus >/dev/null
fi

echo "== go test -race"
go test -race -count=1 $plain
[ -z "$rapid" ] || go test -race -count=1 $rapid -args -rapid.nofailfile

echo "== bench/etcd (its own module: the etcd side of tenure bench)"
(cd bench/etcd && go vet ./... && go test -race -count=1 ./...)

echo "== go test -tags mutants (every weakened rule must be caught)"
mut=$(grep -rl --include='*_test.go' '^//go:build mutants' . | xargs -r -n1 dirname | sort -u | sed 's|^\.|github.com/tenure-dev/tenure|')
[ -z "$mut" ] || go test -tags mutants -count=1 $mut -args -rapid.nofailfile

echo "== fuzz the wire decoder (short)"
go test ./protocol -run '^$' -fuzz '^FuzzDecode$' -fuzztime 20s -fuzzminimizetime 1s
go test ./node -run '^$' -fuzz '^FuzzDirectDatagram$' -fuzztime 10s -fuzzminimizetime 1s

echo "== chaos: real agent processes in network namespaces, nemesis, porcupine (short pass)"
# Needs root for network namespaces and nftables; CI runs as root. The
# tools come from Debian's packages on a fresh machine.
if [ "$(id -u)" != 0 ]; then
	echo "the chaos pass needs root (network namespaces, nftables): run as root" >&2
	exit 1
fi
if ! command -v nft >/dev/null || ! command -v ip >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 nftables >/dev/null
fi
go test -tags chaos -count=1 -v ./chaos/... 2>&1 | tee /tmp/tenure-chaos.log | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|^\s*[a-z_]+: ' || true
grep -q '^FAIL' /tmp/tenure-chaos.log && { echo "chaos pass failed; see /tmp/tenure-chaos.log" >&2; exit 1; }
grep -q '^ok' /tmp/tenure-chaos.log || { echo "chaos pass did not run; see /tmp/tenure-chaos.log" >&2; exit 1; }

echo "== all tests passed"

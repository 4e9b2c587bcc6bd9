#!/usr/bin/env bash
# Runs the chaos test (see package chaos): five tenure agents in network
# namespaces, a fenced register, clients, and a nemesis for --duration.
# Prints the figures as `name: value` lines and exits non-zero on any
# violation. Needs root (network namespaces, nftables).
#
#   chaos/run.sh                          # short pass: 60s of nemesis
#   chaos/run.sh --duration 10m           # long pass
#   chaos/run.sh --seed 12345             # replay a seed
#   chaos/run.sh --broken                 # the broken build (no fence): must report violations
#   chaos/run.sh --keep --dir /tmp/chaos  # keep the run directory even on success
set -euo pipefail
cd "$(dirname "$0")/.."

duration=60s seed=0 dir="" keep=false faults="" test='^TestChaos$' durflag=chaos.duration
while [ $# -gt 0 ]; do
	case "$1" in
	--duration) duration=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--faults) faults=$2; shift 2 ;;
	--keep) keep=true; shift ;;
	--broken) test='^TestChaosDetectsBrokenFence$' durflag=chaos.broken-duration; shift ;;
	-h|--help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespaces, nftables)" >&2; exit 1; }
command -v nft >/dev/null && command -v ip >/dev/null ||
	{ echo "run.sh: needs iproute2 and nftables: apt-get install -y iproute2 nftables" >&2; exit 1; }

# Whatever happens (failure, Ctrl-C, a killed test binary), leave nothing.
trap 'chaos/cleanup.sh >/dev/null' EXIT

# The go test timeout: twice the nemesis duration plus ten minutes.
secs=$(awk -v d="$duration" 'BEGIN {
	n = 0
	while (match(d, /^[0-9.]+(h|ms|m|s)/)) {
		part = substr(d, 1, RLENGTH); d = substr(d, RLENGTH + 1)
		v = part + 0; u = part; sub(/^[0-9.]+/, "", u)
		n += (u == "h") ? v * 3600 : (u == "m") ? v * 60 : (u == "s") ? v : v / 1000
	}
	print int(n) }')
timeout=$((secs * 2 + 600))s

args=(-chaos.seed="$seed" -"$durflag"="$duration" -chaos.keep="$keep")
[ -z "$dir" ] || args+=(-chaos.dir="$dir")
[ -z "$faults" ] || args+=(-chaos.faults="$faults")
go test -tags chaos ./chaos -run "$test" -count=1 -v -timeout "$timeout" -args "${args[@]}"

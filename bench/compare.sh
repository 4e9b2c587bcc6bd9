#!/usr/bin/env bash
# bench/compare.sh: tenure beside etcd, on this machine, in one run.
#
# Builds `tenure` and `etcdbench` (module bench/etcd), installs etcd 3.4
# from Debian (etcd-server, etcd-client) when it is missing, starts a
# three-member etcd cluster on loopback with its data on tmpfs, then runs
# `tenure bench --json` and `etcdbench run --json` alternately, ROUNDS times
# each (tenure, etcd, tenure, etcd, ...), and prints one table (median of
# the rounds; the worst failover of all runs) which it also writes into
# bench/RESULTS.md between the generated-block markers. etcd is stopped and
# its data removed on exit, on failure too.
#
# Usage: bench/compare.sh [--quick] [--rounds N] [--no-results]
#   --quick       smoke run of both sides (seconds per round; figures mean little)
#   --rounds N    rounds per system (default 3)
#   --no-results  print the table but leave bench/RESULTS.md alone
# Environment: KEEP=1 keeps the JSON files (their directory is printed).
set -euo pipefail

ROUNDS=3
QUICK=()
WRITE=1
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=(--quick) ;;
	--rounds) ROUNDS="$2"; shift ;;
	--no-results) WRITE=0 ;;
	-h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case "$ROUNDS" in ''|*[!0-9]*|0) echo "compare.sh: --rounds wants a positive number" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tenure-compare.XXXXXX")
ETCD_DIR=""
MOUNTED=""
PIDS=()

cleanup() {
	local rc=$?
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "$MOUNTED" ]; then umount "$MOUNTED" 2>/dev/null || true; fi
	if [ -n "$ETCD_DIR" ]; then rm -rf "$ETCD_DIR"; fi
	if [ "${KEEP:-0}" = 1 ]; then echo "compare.sh: results kept in $WORK" >&2; else rm -rf "$WORK"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "compare.sh: $*" >&2; }

# Tools.
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
	log "installing etcd-server and etcd-client with apt-get"
	apt-get update >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client >/dev/null
fi
log "building tenure and etcdbench"
(cd "$ROOT" && go build -o "$WORK/tenure" ./cmd/tenure)
(cd "$ROOT/bench/etcd" && go build -o "$WORK/etcdbench" .)

# etcd: three members on loopback, data on tmpfs (its best case).
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	ETCD_DIR=$(mktemp -d /dev/shm/tenure-compare-etcd.XXXXXX)
else
	ETCD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tenure-compare-etcd.XXXXXX")
	mount -t tmpfs -o size=2g tmpfs "$ETCD_DIR"
	MOUNTED=$ETCD_DIR
fi
read -r -a PORTS <<<"$("$WORK/etcdbench" freeports 6)"
CLUSTER="" ENDPOINTS=""
for i in 0 1 2; do
	CLUSTER+="${CLUSTER:+,}e$i=http://127.0.0.1:${PORTS[$((i + 3))]}"
	ENDPOINTS+="${ENDPOINTS:+,}http://127.0.0.1:${PORTS[$i]}"
done
ETCD_VERSION=$(etcd --version 2>/dev/null | head -1)
for i in 0 1 2; do
	c=${PORTS[$i]} p=${PORTS[$((i + 3))]}
	etcd --name "e$i" --data-dir "$ETCD_DIR/e$i" \
		--listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
		--listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
		--initial-cluster "$CLUSTER" --initial-cluster-token "tenure-compare-$$" --initial-cluster-state new \
		--logger zap --log-level warn >"$WORK/etcd-e$i.log" 2>&1 &
	PIDS+=($!)
done
log "etcd ($ETCD_VERSION) members ${PIDS[*]} at $ENDPOINTS, data in $ETCD_DIR"
for _ in $(seq 1 150); do
	if ETCDCTL_API=3 etcdctl --endpoints="$ENDPOINTS" endpoint health >/dev/null 2>&1; then break; fi
	sleep 0.2
done
ETCDCTL_API=3 etcdctl --endpoints="$ENDPOINTS" endpoint health >&2 || { tail -5 "$WORK"/etcd-e*.log >&2; exit 1; }
SERVER_PIDS=$(IFS=,; echo "${PIDS[*]}")

REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null)" ]; then REV+=" with local changes"; fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
	log "round $r/$ROUNDS: tenure bench ${QUICK[*]}"
	"$WORK/tenure" bench --json "${QUICK[@]}" >"$WORK/tenure-$r.json"
	log "round $r/$ROUNDS: etcdbench run ${QUICK[*]}"
	"$WORK/etcdbench" run --json "${QUICK[@]}" --endpoints "$ENDPOINTS" --server-pids "$SERVER_PIDS" >"$WORK/etcd-$r.json"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

Q=${QUICK[*]:+ ${QUICK[*]}}
OUT=()
if [ "$WRITE" = 1 ]; then OUT=(--out "$ROOT/bench/RESULTS.md"); fi
"$WORK/etcdbench" report --tenure "$WORK/tenure-*.json" --etcd "$WORK/etcd-*.json" "${OUT[@]}" \
	--cmd "bench/compare.sh${Q} --rounds $ROUNDS" \
	--cmd "  which runs, alternately: tenure bench --json${Q}" \
	--cmd "  and: etcdbench run --json${Q} --endpoints $ENDPOINTS --server-pids $SERVER_PIDS" \
	--note "etcd: $ETCD_VERSION, three members on loopback, data on tmpfs ($ETCD_DIR), default heartbeat 100ms / election 1000ms; client go.etcd.io/etcd/client/v3 $(cd "$ROOT/bench/etcd" && go list -m -f '{{.Version}}' go.etcd.io/etcd/client/v3)." \
	--note "etcd acquire = concurrency.Mutex.Lock on a reused session, release = Unlock; throughput workers have a session each; the 10k-lock holder uses one session (TTL 10s) for all locks, so etcd has no per-lock renewal packets (n/a)." \
	--note "tenure: commit $REV, built by this script; three agent processes (tenure agent, data dirs in \$TMPDIR), the client and the 10k-lease holder embedded in the bench process." \
	--note "Load average (1, 5, 15 min) before the rounds: $LOAD_BEFORE; after: $LOAD_AFTER. Each round's own load is in the per-round table."

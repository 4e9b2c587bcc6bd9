#!/usr/bin/env bash
# bench/compare.sh: tenure beside etcd, on this machine, in one run.
#
# Builds `tenure` and `etcdbench` (module bench/etcd), installs etcd 3.4
# from Debian (etcd-server, etcd-client) when it is missing, starts a
# three-member etcd cluster on loopback with its data on tmpfs, then runs
# `tenure bench --json` and `etcdbench run --json` alternately, ROUNDS
# times each (tenure, etcd, tenure, etcd, ...), recording the load average
# before each round. `etcdbench report` (package bench/benchreport) then
# takes the median of the rounds, judges every target of issue 16 from
# the figures, and writes the generated block of bench/RESULTS.md with
# the commit, the date and the CPU count. etcd is stopped and its data
# removed on exit, on failure too.
#
# Both sides run the same workloads (bench/benchutil.Workload): acquire
# latency and lock+unlock throughput on distinct names at 1, 8, 32 and 128
# workers (etcd: one shared session, and a session per worker), failover
# at TTL 2s, and one node holding 10^4 then 10^5 leases (etcd: 10^4).
#
# Usage: bench/compare.sh [--quick] [--rounds N] [--results | --no-results]
#   --quick       smoke run of both sides (under a minute; figures mean
#                 little); 2 rounds unless --rounds; prints the block but
#                 leaves bench/RESULTS.md alone unless --results
#   --rounds N    rounds per system (default 3; at least 3 to write RESULTS.md)
#   --results     write bench/RESULTS.md even with --quick
#   --no-results  print the block but leave bench/RESULTS.md alone
# Environment: KEEP=1 keeps the JSON files and logs (their directory is printed).
set -euo pipefail

T0=$(date +%s)
ROUNDS=""
QUICK=()
WRITE=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=(--quick) ;;
	--rounds) [ $# -ge 2 ] || { echo "compare.sh: --rounds wants a number" >&2; exit 2; }; ROUNDS="$2"; shift ;;
	--results) WRITE=1 ;;
	--no-results) WRITE=0 ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$ROUNDS" ]; then if [ ${#QUICK[@]} -gt 0 ]; then ROUNDS=2; else ROUNDS=3; fi; fi
case "$ROUNDS" in ''|*[!0-9]*|0) echo "compare.sh: --rounds wants a positive number" >&2; exit 2 ;; esac
if [ -z "$WRITE" ]; then if [ ${#QUICK[@]} -gt 0 ]; then WRITE=0; else WRITE=1; fi; fi
if [ "$WRITE" = 1 ] && [ ${#QUICK[@]} -eq 0 ] && [ "$ROUNDS" -lt 3 ]; then
	echo "compare.sh: RESULTS.md takes the median of at least 3 rounds; use --rounds 3 or more, or --no-results" >&2
	exit 2
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tenure-compare.XXXXXX")
ETCD_DIR=""
MOUNTED=""
PIDS=()

cleanup() {
	local rc=$?
	if [ "$rc" != 0 ]; then echo "compare.sh: failed (exit $rc); nothing written" >&2; fi
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
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Tools.
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
	log "installing etcd-server and etcd-client with apt-get"
	apt-get update >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client >/dev/null
fi
log "building tenure and etcdbench"
(cd "$ROOT" && go build -o "$WORK/tenure" ./cmd/tenure)
(cd "$ROOT/bench/etcd" && go build -o "$WORK/etcdbench" .)
ETCD_CLIENT=$(cd "$ROOT/bench/etcd" && go list -m -f '{{.Version}}' go.etcd.io/etcd/client/v3)

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
ETCD_VERSION=$(etcd --version 2>/dev/null | sed -n 1p) # sed reads it all: head could SIGPIPE etcd, failing the pipeline
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
if [ -n "$(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null)" ]; then REV+=" (with local changes)"; fi

# The rounds, alternating. Each side's JSON records the load average at
# its start (machine.load_before) and end; this log repeats it.
for r in $(seq 1 "$ROUNDS"); do
	log "round $r/$ROUNDS: tenure bench${QUICK[*]:+ ${QUICK[*]}} (load $(load))"
	"$WORK/tenure" bench --json "${QUICK[@]}" >"$WORK/tenure-$r.json" 2>"$WORK/tenure-$r.log" ||
		{ tail -20 "$WORK/tenure-$r.log" >&2; exit 1; }
	log "round $r/$ROUNDS: etcdbench run${QUICK[*]:+ ${QUICK[*]}} (load $(load))"
	"$WORK/etcdbench" run --json "${QUICK[@]}" --endpoints "$ENDPOINTS" --server-pids "$SERVER_PIDS" \
		>"$WORK/etcd-$r.json" 2>"$WORK/etcd-$r.log" || { tail -20 "$WORK/etcd-$r.log" >&2; exit 1; }
done

Q=${QUICK[*]:+ ${QUICK[*]}}
OUT=()
if [ "$WRITE" = 1 ]; then OUT=(--out "$ROOT/bench/RESULTS.md"); fi
"$WORK/etcdbench" report --tenure "$WORK/tenure-*.json" --etcd "$WORK/etcd-*.json" "${OUT[@]}" \
	--commit "$REV" \
	--cmd "bench/compare.sh${Q} --rounds $ROUNDS" \
	--cmd "  which runs, alternately: tenure bench --json${Q}" \
	--cmd "  and: etcdbench run --json${Q} --endpoints $ENDPOINTS --server-pids $SERVER_PIDS" \
	--note "etcd: $ETCD_VERSION, three members on loopback, data on tmpfs ($ETCD_DIR), default heartbeat 100ms / election 1000ms; client go.etcd.io/etcd/client/v3 $ETCD_CLIENT." \
	--note "etcd acquire = concurrency.Mutex.Lock, release = Unlock, the sessions made before the timing; one shared session (a Mutex per name, as users write it) and a session per worker are measured separately. The many-lock holder uses one session for all its mutexes, so etcd has no per-lock renewal traffic (n/a)." \
	--note "tenure: commit $REV, built by this script; three agent processes (tenure agent, data dirs in \$TMPDIR), the workers' client node and the many-lease holder embedded in the bench process, each worker on a lease name of its own." \
	--note "compare.sh took $(($(date +%s) - T0)) s up to this report (builds, etcd start and $ROUNDS rounds of each)."
log "done in $(($(date +%s) - T0)) s"

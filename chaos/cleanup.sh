#!/usr/bin/env bash
# Removes everything a chaos run may have left behind: the network namespaces
# named tch-* (after SIGKILLing the processes inside them: agents, the
# register, helpers, all started by the chaos harness) and the root-namespace
# links named tch*. Safe to run when nothing is left. Do not run it while a
# chaos run is in progress: it does not spare live runs (the Go harness's own
# sweep does: it only removes leftovers of dead test processes).
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "cleanup.sh: needs root" >&2; exit 1; }
removed=0
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^tch-' || true); do
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
	ip netns del "$ns" && removed=$((removed + 1))
done
for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^tch' || true); do
	ip link del "$link" 2>/dev/null && removed=$((removed + 1))
done
echo "cleanup.sh: removed $removed namespaces and links"

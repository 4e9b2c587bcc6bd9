# Only what is not a plain `go` command lives here.
DURATION ?= 60s
SEED ?= 0

.PHONY: chaos
# The chaos test (root needed): `make chaos` is the short pass,
# `make chaos DURATION=10m` the long one, `make chaos SEED=N` a replay.
chaos:
	chaos/run.sh --duration $(DURATION) --seed $(SEED)

.PHONY: scale
# The real-network scale test (build tag scale): in-process nodes over
# memberlist on loopback, at 100 nodes and then at 300, about two minutes
# on a quiet 2-core machine; `make scale NODES="100 200"` for other sizes.
# The figures go to $TMPDIR/tenure-scale-<size>.json (DESIGN §13).
NODES ?= 100 300
scale:
	@for n in $(NODES); do \
		out=$${TMPDIR:-/tmp}/tenure-scale-$$n.json; \
		TENURE_SCALE_NODES=$$n TENURE_SCALE_OUT=$$out go test -tags scale ./node -run TestScale -count=1 -v -timeout 30m || exit 1; \
		echo "figures: $$out"; \
	done

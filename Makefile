# Only what is not a plain `go` command lives here.
DURATION ?= 60s
SEED ?= 0

.PHONY: chaos
# The chaos test (root needed): `make chaos` is the short pass,
# `make chaos DURATION=10m` the long one, `make chaos SEED=N` a replay.
chaos:
	chaos/run.sh --duration $(DURATION) --seed $(SEED)

#!/usr/bin/env bash
# The project's whole test suite: what README.md calls "run the tests" and
# what CI runs. Every step must pass.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:-} -mod=mod"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi

echo "== go vet"
go vet ./...
go vet -tags mutants ./...

echo "== go test -race"
go test -race -count=1 ./... -rapid.nofailfile 2>&1 | tee /tmp/tenure-test.log

echo "== fuzz (short)"
go test ./protocol -run '^$' -fuzz FuzzDecode -fuzztime 20s

echo "== done"

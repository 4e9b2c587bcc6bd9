#!/usr/bin/env bash
# Builds the tenure container image from packaging/container/Containerfile:
# a static binary (CGO_ENABLED=0) in an image FROM scratch, so nothing is
# pulled from a registry. Uses podman, or buildah if podman is missing.
#
#   packaging/container/build.sh [IMAGE]      # default localhost/tenure:dev
#
# Prints the image name on its last line.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
image=${1:-localhost/tenure:dev}
if command -v podman >/dev/null; then
	build=(podman build)
elif command -v buildah >/dev/null; then
	build=(buildah bud)
else
	echo "build.sh: needs podman or buildah (apt-get install podman)" >&2
	exit 1
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$ctx/tenure" ./cmd/tenure)
mkdir "$ctx/data"
cp "$repo/packaging/container/Containerfile" "$ctx/Containerfile"
"${build[@]}" --quiet -f "$ctx/Containerfile" -t "$image" "$ctx" >&2
echo "$image"

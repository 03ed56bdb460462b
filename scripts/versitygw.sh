#!/usr/bin/env bash
# Builds versitygw (Apache-2.0, an S3 server over a POSIX directory) once into a cache outside the
# repository and prints the binary's path. The object-store contract suite and test/ use it as the
# real S3 server behind APIARY_BLOB_STORE=s3://…
#   APIARY_CACHE   cache root (default: $HOME/.cache/apiary); the binary lands in $APIARY_CACHE/bin
# Needs Go (https://go.dev/doc/install; Debian: apt-get install golang-go) and the Go module proxy.
set -euo pipefail
VERSION=v1.8.0
cache="${APIARY_CACHE:-$HOME/.cache/apiary}"
bin="$cache/bin/versitygw-$VERSION"
if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "versitygw.sh: Go is not installed; install it (https://go.dev/doc/install, or apt-get install golang-go) so that versitygw $VERSION can be built" >&2
  exit 3
fi
mkdir -p "$cache/bin"
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# A lock, so that two test files starting at once build it only once.
exec 9>"$cache/versitygw.lock"
flock 9
if [[ ! -x "$bin" ]]; then
  GOBIN="$work" GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" \
    nice go install "github.com/versity/versitygw/cmd/versitygw@$VERSION" >&2
  mv "$work/versitygw" "$bin"
fi
echo "$bin"

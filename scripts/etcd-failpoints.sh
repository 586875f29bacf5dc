#!/usr/bin/env bash
# Builds etcd with its failpoints (gofail) for the pinned release of each line asked for (src/testing/versions.ts
# is the one table of pins), into the same cache as scripts/etcd-versions.sh, and prints where each binary is:
#   <cache>/etcd/<patch>-failpoints/etcd
# How: the server module's source comes from the Go module proxy; a writable copy of it is instrumented with
# gofail (every package with `// gofail:` comments, as etcd's own `make gofail-enable` does) and built through
# a wrapper module whose `replace` points at the copy (see scripts/etcd-versions.sh for why a wrapper).
# One failpoint is added to the copy: etcd has none where a watcher's catch-up starts, so
#   // gofail: var beforeSyncWatchers struct{}
# goes first in watchableStore.syncWatchers (storage/mvcc/watchable_store.go; mvcc/ in 3.5), which runs only
# while some watcher is catching up. Run the binary with GOFAIL_FAILPOINTS='beforeSyncWatchers=sleep(8000)'
# and every catch-up round waits 8 s first (the test kit: startEtcd({ version, failpoints: {...} })).
# Usage: scripts/etcd-failpoints.sh [LINE...]   (default: 3.5 3.6 3.7, every line that has a Go module). Cache: ETCD_TS_CACHE, else
# $XDG_CACHE_HOME/etcd-ts, else ~/.cache/etcd-ts. Safe to run concurrently with itself (a lock per build).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/etcd-build-lib.sh
source scripts/etcd-build-lib.sh
# etcd's own pin (tools/mod of 3.5 to 3.7).
gofail_version="v0.2.0"

lines=("$@")
[ "${#lines[@]}" -gt 0 ] || lines=(3.5 3.6 3.7)

build_failpoints() {
  local version="$1" dest="$cache/etcd/$1-failpoints"
  local work="$cache/build/$version-failpoints"
  rm -rf "$work" && mkdir -p "$work" "$dest"
  (
    cd "$work"
    GOFLAGS=-mod=mod go mod download -json "go.etcd.io/etcd/server/v3@v$version" >download.json
    local src
    src=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' download.json)
    [ -d "$src" ] || { echo "no source for go.etcd.io/etcd/server/v3@v$version" >&2; exit 1; }
    cp -r "$src" server
    chmod -R u+w server

    # The catch-up failpoint etcd lacks.
    local store
    store=$(grep -rl --include=watchable_store.go 'func (s \*watchableStore) syncWatchers() int {' server)
    [ -n "$store" ] || { echo "syncWatchers not found in etcd $version" >&2; exit 1; }
    sed -i 's|^func (s \*watchableStore) syncWatchers() int {$|&\n\t// gofail: var beforeSyncWatchers struct{}|' "$store"
    grep -q 'gofail: var beforeSyncWatchers' "$store"

    # Every package with failpoints, as etcd's Makefile enables them.
    local dirs
    dirs=$(grep -rl --include='*.go' --exclude='*_test.go' '// gofail:' server | xargs -n1 dirname | sort -u)
    # shellcheck disable=SC2086
    GOFLAGS=-mod=mod go run "go.etcd.io/gofail@$gofail_version" enable $dirs
    (cd server && go mod edit -require="go.etcd.io/gofail@$gofail_version")

    wrapper_module etcdfailpoints
    go mod edit -require="go.etcd.io/etcd/server/v3@v$version" -replace=go.etcd.io/etcd/server/v3=./server
    GOFLAGS=-mod=mod go get "go.etcd.io/gofail@$gofail_version" >get.log 2>&1 || { cat get.log >&2; exit 1; }
    GOFLAGS=-mod=mod go mod tidy >tidy.log 2>&1 || { cat tidy.log >&2; exit 1; }
    GOFLAGS=-mod=mod go build -trimpath -o "$dest/etcd.tmp" go.etcd.io/etcd/server/v3
  )
  mv "$dest/etcd.tmp" "$dest/etcd"
  rm -rf "$work"
}

for line in "${lines[@]}"; do
  version=$(pin "$line")
  if [ -z "$version" ] || [ "$line" = "3.4" ]; then
    echo "no failpoint build for etcd line $line (3.5, 3.6 and 3.7 can; pins: src/testing/versions.ts)" >&2
    exit 1
  fi
  bin="$cache/etcd/$version-failpoints/etcd"
  locked_build "$version-failpoints" "$bin" build_failpoints "$version"
  echo "etcd $line with failpoints: $version $bin"
done

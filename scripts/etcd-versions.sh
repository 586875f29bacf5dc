#!/usr/bin/env bash
# Installs the pinned etcd release of each line the project tests against (src/testing/versions.ts is the
# one table of pins) into a cache outside the repository, reused by later runs on the same machine, and
# prints where each binary is:
#   3.4 -> Debian bookworm's etcd-server package (3.4 has no Go module to build from);
#   3.5, 3.6, 3.7 -> built with Go from etcd's modules on the Go module proxy.
# Usage: scripts/etcd-versions.sh [LINE...]   (default: every line). Cache: ETCD_TS_CACHE, else
# $XDG_CACHE_HOME/etcd-ts, else ~/.cache/etcd-ts. Safe to run concurrently with itself (a lock per build).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/etcd-build-lib.sh
source scripts/etcd-build-lib.sh
lines=("$@")
[ "${#lines[@]}" -gt 0 ] || mapfile -t lines < <(pinned_lines)

install_debian_34() {
  local want="$1" dest="$cache/etcd/$1"
  if ! command -v /usr/bin/etcd >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server etcd-client >/dev/null
  fi
  local have
  have=$(/usr/bin/etcd --version | sed -n 's/^etcd Version: //p')
  if [ "$have" != "$want" ]; then
    echo "Debian's etcd is $have, the pin is $want (src/testing/versions.ts)" >&2
    exit 1
  fi
  mkdir -p "$dest"
  ln -sf /usr/bin/etcd "$dest/etcd"
}

build_go() {
  local version="$1" dest="$cache/etcd/$1"
  local work="$cache/build/$version"
  rm -rf "$work" && mkdir -p "$work" "$dest"
  (
    cd "$work"
    wrapper_module etcdbuild
    GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@v$version" >get.log 2>&1 || { cat get.log >&2; exit 1; }
    GOFLAGS=-mod=mod go build -trimpath -o "$dest/etcd.tmp" go.etcd.io/etcd/server/v3
  )
  mv "$dest/etcd.tmp" "$dest/etcd"
  rm -rf "$work"
}

for line in "${lines[@]}"; do
  version=$(pin "$line")
  if [ -z "$version" ]; then
    echo "unknown etcd line $line (pinned: src/testing/versions.ts)" >&2
    exit 1
  fi
  bin="$cache/etcd/$version/etcd"
  if [ "$line" = "3.4" ]; then
    locked_build "$version" "$bin" install_debian_34 "$version"
  else
    locked_build "$version" "$bin" build_go "$version"
  fi
  have=$("$bin" --version | sed -n 's/^etcd Version: //p')
  if [ "$have" != "$version" ]; then
    echo "$bin is etcd $have, the pin is $version: delete it and run again" >&2
    exit 1
  fi
  echo "etcd $line: $version $bin"
done

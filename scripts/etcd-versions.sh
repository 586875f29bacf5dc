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

cache="${ETCD_TS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-ts}"
pins="src/testing/versions.ts"

# `"3.6": "3.6.17",` lines of ETCD_VERSIONS.
pin() { sed -n "s/^  \"$1\": \"\([0-9.]*\)\",\$/\1/p" "$pins"; }
lines=("$@")
[ "${#lines[@]}" -gt 0 ] || lines=($(sed -n 's/^  "\(3\.[0-9]*\)": "[0-9.]*",$/\1/p' "$pins"))

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
  # A module of our own that requires etcd's server: `go install` refuses the server module itself (its
  # go.mod has replace directives), and Go ignores a dependency's replace directives.
  local work="$cache/build/$version"
  rm -rf "$work" && mkdir -p "$work" "$dest"
  printf 'module etcdbuild\n\ngo 1.22\n' >"$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$work/tools.go"
  (
    cd "$work"
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
  if ! [ -x "$bin" ] || [ "$("$bin" --version | sed -n 's/^etcd Version: //p')" != "$version" ]; then
    mkdir -p "$cache/etcd"
    exec 9>"$cache/etcd/.lock-$version"
    flock 9
    if ! [ -x "$bin" ]; then
      if [ "$line" = "3.4" ]; then install_debian_34 "$version"; else build_go "$version"; fi
    fi
    exec 9>&-
  fi
  echo "etcd $line: $version $bin"
done

# Sourced by scripts/etcd-versions.sh and scripts/etcd-failpoints.sh: the cache, the pins and the build
# steps both share. Not a command of its own.

# Where binaries go: ETCD_TS_CACHE, else $XDG_CACHE_HOME/etcd-ts, else ~/.cache/etcd-ts (src/testing/versions.ts
# reads the same).
cache="${ETCD_TS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-ts}"
# The one table of pins: `"3.6": "3.6.17",` lines of ETCD_VERSIONS.
pins="src/testing/versions.ts"

# The pinned patch release of a line (`pin 3.6` prints 3.6.17), empty for an unknown line.
pin() { sed -n "s/^  \"$1\": \"\([0-9.]*\)\",\$/\1/p" "$pins"; }

# Every pinned line, one per line of output.
pinned_lines() { sed -n 's/^  "\(3\.[0-9]*\)": "[0-9.]*",$/\1/p' "$pins"; }

# Writes, in the current folder, a module of our own named $1 that requires etcd's server: `go install`
# refuses the server module itself (its go.mod has replace directives), and Go ignores a dependency's
# replace directives, so both builds go through such a wrapper.
wrapper_module() {
  printf 'module %s\n\ngo 1.22\n' "$1" >go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
}

# `locked_build NAME BIN FUNCTION ARGS...`: runs FUNCTION ARGS unless BIN is already executable, holding a
# lock named NAME so that concurrent runs build each binary once.
locked_build() {
  local name="$1" bin="$2"
  shift 2
  [ -x "$bin" ] && return 0
  mkdir -p "$cache/etcd"
  exec 9>"$cache/etcd/.lock-$name"
  flock 9
  [ -x "$bin" ] || "$@"
  exec 9>&-
}

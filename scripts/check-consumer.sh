#!/usr/bin/env bash
# The package as an npm user gets it: `npm pack`, install the tarball into a fresh project with the optional
# peers, typecheck scripts/consumer/main.ts (every public entry point) under {nodenext, bundler} x
# {TypeScript 5.9, 7.x} with lib ES2022 (no DOM), types ["node"], skipLibCheck false, strict and
# exactOptionalPropertyTypes, then run it against a throwaway etcd it starts through etcd-ts/testing.
# Run after `npm run build`. Installs from the registry through npm's cache; leaves no temp dir behind.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ ! -f dist/index.js ]; then
  echo "dist/ is missing: run 'npm run build' first" >&2
  exit 1
fi

# The peers and @types/node at the versions this repo's lockfile installed (so npm's cache has them).
version_of() { node -p "require('./node_modules/$1/package.json').version"; }
peers=(
  "@grpc/grpc-js@$(version_of @grpc/grpc-js)"
  "@connectrpc/connect-node@$(version_of @connectrpc/connect-node)"
  "@types/node@$(version_of @types/node)"
  "@opentelemetry/api@$(version_of @opentelemetry/api)"
)
compilers=(typescript-5.9 typescript-7)

work=$(mktemp -d "${TMPDIR:-/tmp}/etcd-ts-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT

tarball=$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)
project=$work/project
mkdir "$project"
cp scripts/consumer/main.ts scripts/consumer/tsconfig.*.json "$project/"
cd "$project"
echo '{ "name": "etcd-ts-consumer", "private": true, "type": "module" }' >package.json
npm install --no-audit --no-fund --prefer-offline --loglevel=error \
  "$tarball" "${peers[@]}" "typescript-5.9@npm:typescript@~5.9" "typescript-7@npm:typescript@7"

tsc() { node "node_modules/$1/bin/tsc" -p "tsconfig.$2.json" --pretty false "${@:3}"; }

# 1. etcd-ts's own declarations need nothing but ES2022 and @types/node. Connect's declarations, which ours
# import (Transport, ConnectError), name the DOM-only `HeadersInit`: those errors, and only those, are
# expected here; they vanish if Connect stops needing the DOM lib.
connect_headers_init="^node_modules/@connectrpc/connect/dist/esm/[^(]*\.d\.ts\([0-9]+,[0-9]+\): error TS2304: Cannot find name 'HeadersInit'\.$"
for compiler in "${compilers[@]}"; do
  for resolution in nodenext bundler; do
    echo "typecheck without a HeadersInit declaration: $compiler, moduleResolution $resolution"
    output=$(tsc "$compiler" "$resolution" --noEmit 2>&1 || true)
    unexpected=$(grep -Ev "$connect_headers_init" <<<"$output" || true)
    if [ -n "$unexpected" ]; then
      printf '%s\n' "$unexpected" >&2
      echo "the published types need more than lib ES2022 and @types/node ($compiler, $resolution)" >&2
      exit 1
    fi
    echo "  $(grep -cE "$connect_headers_init" <<<"$output" || true) error(s), all HeadersInit in Connect's declarations"
  done
done

# A project with the DOM lib gets HeadersInit from it: nothing of ours may clash with the DOM's globals.
echo "typecheck with lib ES2022 + DOM: ${compilers[1]}, moduleResolution nodenext"
tsc "${compilers[1]}" nodenext --noEmit --lib ES2022,DOM

# 2. With the one declaration Connect needs (what the README tells users without the DOM lib), the program
# typechecks cleanly everywhere; the TypeScript 5.9 nodenext run emits the JavaScript that step 3 runs.
cp "$root/scripts/consumer/connect-headers-init.d.ts" .
for compiler in "${compilers[@]}"; do
  for resolution in bundler nodenext; do
    echo "typecheck: $compiler ($(node -p "require('$compiler/package.json').version")), moduleResolution $resolution"
    if [ "$compiler/$resolution" = "${compilers[0]}/nodenext" ]; then
      tsc "$compiler" "$resolution"
    else
      tsc "$compiler" "$resolution" --noEmit
    fi
  done
done

# 3. Run it against real etcd. The limit only catches a hang (e.g. a handle left open after close()).
echo "run: node out/main.js"
if ! timeout 120 node out/main.js; then
  echo "the consumer program failed or did not exit within 120 s (a hang: something left open?)" >&2
  exit 1
fi

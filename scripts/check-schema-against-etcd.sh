#!/usr/bin/env bash
# Compares proto/etcd with etcd's own .proto files of one release (default 3.7.4, the newest line the
# project tests), descriptor by descriptor: every package, service, RPC, message, field name, number,
# type, label and enum value. Usage: scripts/check-schema-against-etcd.sh [3.7.4|3.6.17|3.5.36].
# Expected output for 3.7.4: only etcd's DowngradeVersionTestRequest as "MISSING in ours" (a raft/WAL
# test message no RPC carries); for older releases, also the later additions listed in docs/protocol.md
# as "ADDED in ours". Needs Go and the Go module proxy (a dev-time check; CI does not run it).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
version=${1:-3.7.4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
moddir() { (cd "$work" && go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'); }
api=$(moddir "go.etcd.io/etcd/api/v3@v$version")
gogo=$(moddir "github.com/gogo/protobuf@v1.3.2")
for f in etcdserverpb/rpc.proto mvccpb/kv.proto authpb/auth.proto versionpb/version.proto; do
  [ -f "$api/$f" ] || continue # versionpb exists since 3.6
  mkdir -p "$work/orig/etcd/api/$(dirname "$f")"
  python3 "$here/scripts/strip-gateway-options.py" "$api/$f" >"$work/orig/etcd/api/$f"
done
mkdir -p "$work/orig/gogoproto"
cp "$gogo/gogoproto/gogo.proto" "$work/orig/gogoproto/"
printf 'version: v2\nmodules:\n  - path: .\n' >"$work/orig/buf.yaml"
buf="$here/node_modules/.bin/buf"
(cd "$work/orig" && "$buf" build -o "$work/etcd.json")
(cd "$here/proto/etcd" && "$buf" build -o "$work/ours.json")
python3 "$here/scripts/compare-descriptors.py" "$work/etcd.json" "$work/ours.json"

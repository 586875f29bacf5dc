#!/usr/bin/env bash
# Compares proto/etcd with etcd's own .proto files from Debian's golang-etcd-server-dev (etcd 3.4 source),
# descriptor by descriptor: every package, service, RPC, message, field name, number, type, label and
# enum value. Expected output: only the 3.5/3.6 additions listed in docs/protocol.md, as "ADDED in ours".
# Needs: apt-get install golang-etcd-server-dev (a dev-time check; CI does not install it).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=/usr/share/gocode/src
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/orig/etcd/mvcc/mvccpb" "$work/orig/etcd/auth/authpb" "$work/orig/etcd/etcdserver/etcdserverpb" \
  "$work/orig/gogoproto" "$work/orig/google/api"
cp "$src/go.etcd.io/etcd/mvcc/mvccpb/kv.proto" "$work/orig/etcd/mvcc/mvccpb/"
cp "$src/go.etcd.io/etcd/auth/authpb/auth.proto" "$work/orig/etcd/auth/authpb/"
cp "$src/go.etcd.io/etcd/etcdserver/etcdserverpb/rpc.proto" "$work/orig/etcd/etcdserver/etcdserverpb/"
cp "$src/github.com/gogo/protobuf/gogoproto/gogo.proto" "$work/orig/gogoproto/"
cp "$src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis/google/api/"{annotations,http}.proto "$work/orig/google/api/"
printf 'version: v2\nmodules:\n  - path: .\n' >"$work/orig/buf.yaml"
buf="$here/node_modules/.bin/buf"
(cd "$work/orig" && "$buf" build -o "$work/etcd.json")
(cd "$here/proto/etcd" && "$buf" build -o "$work/ours.json")
python3 "$here/scripts/compare-descriptors.py" "$work/etcd.json" "$work/ours.json"

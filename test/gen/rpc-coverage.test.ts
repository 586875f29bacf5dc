import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Permission_Type } from "../../src/gen/authpb/auth_pb.js";
import {
  AlarmRequest_AlarmAction,
  AlarmType,
  Auth,
  Cluster,
  Compare_CompareResult,
  Compare_CompareTarget,
  DowngradeRequest_DowngradeAction,
  KV,
  Lease,
  Maintenance,
  Watch,
  type WatchRequestSchema,
} from "../../src/gen/etcdserverpb/rpc_pb.js";
import { createGrpcJsTransport, type GrpcJsTransport } from "../../src/grpc-js/index.js";
import { type EtcdCluster, freePort, startEtcd } from "../../src/testing/index.js";
import { expectConnectError } from "../support/expect-error.js";
import { Pushable } from "../support/pushable.js";
import { pinnedEtcdVersion, versionAtLeast } from "../support/server-version.js";

const te = new TextEncoder();
const td = new TextDecoder();

/** The RPCs of etcd 3.7's `rpc.proto`, service by service, in declaration order. */
const ETCD_37_RPCS = {
  KV: ["Range", "RangeStream", "Put", "DeleteRange", "Txn", "Compact"],
  Watch: ["Watch"],
  Lease: ["LeaseGrant", "LeaseRevoke", "LeaseKeepAlive", "LeaseTimeToLive", "LeaseLeases"],
  Cluster: ["MemberAdd", "MemberRemove", "MemberUpdate", "MemberList", "MemberPromote"],
  Maintenance: ["Alarm", "Status", "Defragment", "Hash", "HashKV", "Snapshot", "MoveLeader", "Downgrade"],
  Auth: [
    "AuthEnable",
    "AuthDisable",
    "AuthStatus",
    "Authenticate",
    "UserAdd",
    "UserGet",
    "UserList",
    "UserDelete",
    "UserChangePassword",
    "UserGrantRole",
    "UserRevokeRole",
    "RoleAdd",
    "RoleGet",
    "RoleList",
    "RoleDelete",
    "RoleGrantPermission",
    "RoleRevokePermission",
  ],
};

describe("generated descriptors", () => {
  test("carry exactly the 42 RPCs of etcd 3.7 across the six services", () => {
    const services = { KV, Watch, Lease, Cluster, Maintenance, Auth };
    const actual = Object.fromEntries(
      Object.entries(services).map(([name, service]) => [name, service.methods.map((m) => m.name)]),
    );
    expect(actual).toEqual(ETCD_37_RPCS);
    expect(Object.values(actual).flat()).toHaveLength(42);
    for (const [name, service] of Object.entries(services))
      expect(service.typeName).toBe(`etcdserverpb.${name}`);
    const streaming = Object.values(services)
      .flatMap((s) => s.methods)
      .filter((m) => m.methodKind !== "unary")
      .map((m) => `${m.parent.name}.${m.name}:${m.methodKind}`);
    expect(streaming).toEqual([
      "KV.RangeStream:server_streaming",
      "Watch.Watch:bidi_streaming",
      "Lease.LeaseKeepAlive:bidi_streaming",
      "Maintenance.Snapshot:server_streaming",
    ]);
  });
});

describe("every RPC the server serves, against a real member (grpc-js transport)", () => {
  let etcd: EtcdCluster;
  let transport: GrpcJsTransport;
  beforeAll(async () => {
    etcd = await startEtcd();
    transport = createGrpcJsTransport({ baseUrl: etcd.endpoint });
  });
  afterAll(async () => {
    await transport?.close();
    await etcd?.close();
  });

  test("KV: Range, Put, DeleteRange, Txn, Compact", async () => {
    const kv = createClient(KV, transport);
    const put = await kv.put({ key: te.encode("kv/a"), value: te.encode("1") });
    const put2 = await kv.put({ key: te.encode("kv/a"), value: te.encode("2"), prevKv: true });
    expect(td.decode(put2.prevKv!.value)).toBe("1");
    const range = await kv.range({ key: te.encode("kv/"), rangeEnd: te.encode("kv0") });
    expect(range.kvs.map((x) => [td.decode(x.key), td.decode(x.value), x.version])).toEqual([
      ["kv/a", "2", 2n],
    ]);

    const txn = await kv.txn({
      compare: [
        {
          key: te.encode("kv/a"),
          target: Compare_CompareTarget.VALUE,
          result: Compare_CompareResult.EQUAL,
          targetUnion: { case: "value", value: te.encode("2") },
        },
      ],
      success: [
        { request: { case: "requestPut", value: { key: te.encode("kv/b"), value: te.encode("from-txn") } } },
        { request: { case: "requestRange", value: { key: te.encode("kv/a") } } },
      ],
      failure: [],
    });
    expect(txn.succeeded).toBe(true);
    const inner = txn.responses[1]!.response;
    expect(inner.case === "responseRange" && td.decode(inner.value.kvs[0]!.value)).toBe("2");

    const deleted = await kv.deleteRange({ key: te.encode("kv/b"), prevKv: true });
    expect([deleted.deleted, td.decode(deleted.prevKvs[0]!.value)]).toEqual([1n, "from-txn"]);

    const compacted = await kv.compact({ revision: put2.header!.revision, physical: true });
    expect(compacted.header!.revision).toBeGreaterThanOrEqual(put2.header!.revision);
    await expectConnectError(
      kv.range({ key: te.encode("kv/a"), revision: put.header!.revision }),
      Code.OutOfRange,
      "etcdserver: mvcc: required revision has been compacted",
    );
  });

  test("Watch: create, receive an event, cancel", async () => {
    const input = new Pushable<MessageInitShape<typeof WatchRequestSchema>>();
    const abort = new AbortController();
    const responses = createClient(Watch, transport)
      .watch(input, { signal: abort.signal })
      [Symbol.asyncIterator]();
    try {
      input.push({
        requestUnion: { case: "createRequest", value: { key: te.encode("watch/a"), prevKv: true } },
      });
      const created = (await responses.next()).value!;
      expect(created.created).toBe(true);
      await createClient(KV, transport).put({ key: te.encode("watch/a"), value: te.encode("seen") });
      const event = (await responses.next()).value!;
      expect([event.watchId, td.decode(event.events[0]!.kv!.value)]).toEqual([created.watchId, "seen"]);
      input.push({ requestUnion: { case: "cancelRequest", value: { watchId: created.watchId } } });
      const canceled = (await responses.next()).value!;
      expect([canceled.canceled, canceled.watchId]).toEqual([true, created.watchId]);
    } finally {
      abort.abort();
      input.end();
    }
  });

  test("Lease: Grant, TimeToLive, Leases, KeepAlive, Revoke", async () => {
    const lease = createClient(Lease, transport);
    const granted = await lease.leaseGrant({ TTL: 60n });
    expect(granted.TTL).toBe(60n);
    await createClient(KV, transport).put({
      key: te.encode("lease/a"),
      value: te.encode("x"),
      lease: granted.ID,
    });
    const ttl = await lease.leaseTimeToLive({ ID: granted.ID, keys: true });
    expect([ttl.ID, ttl.grantedTTL, ttl.keys.map((k) => td.decode(k))]).toEqual([
      granted.ID,
      60n,
      ["lease/a"],
    ]);
    expect(ttl.TTL).toBeGreaterThan(0n);
    expect((await lease.leaseLeases({})).leases.map((l) => l.ID)).toContain(granted.ID);

    const input = new Pushable<{ ID: bigint }>();
    const abort = new AbortController();
    const keepAlive = lease.leaseKeepAlive(input, { signal: abort.signal })[Symbol.asyncIterator]();
    try {
      input.push({ ID: granted.ID });
      const renewed = (await keepAlive.next()).value!;
      expect([renewed.ID, renewed.TTL]).toEqual([granted.ID, 60n]);
    } finally {
      abort.abort();
      input.end();
    }

    await lease.leaseRevoke({ ID: granted.ID });
    expect((await lease.leaseTimeToLive({ ID: granted.ID })).TTL).toBe(-1n);
    expect((await createClient(KV, transport).range({ key: te.encode("lease/a") })).count).toBe(0n);
  });

  test("Cluster: MemberList, MemberAdd (learner), MemberPromote, MemberUpdate, MemberRemove", async () => {
    const cluster = createClient(Cluster, transport);
    const before = await cluster.memberList({});
    expect(before.members).toHaveLength(1);
    const peerUrl = `http://127.0.0.1:${await freePort()}`;
    const added = await cluster.memberAdd({ peerURLs: [peerUrl], isLearner: true });
    expect([added.member!.isLearner, added.member!.peerURLs]).toEqual([true, [peerUrl]]);
    expect(added.members).toHaveLength(2);
    const learnerId = added.member!.ID;

    // The learner's peer URL has no etcd behind it, so it can never catch up.
    await expectConnectError(
      cluster.memberPromote({ ID: learnerId }),
      Code.FailedPrecondition,
      "etcdserver: can only promote a learner member which is in sync with leader",
    );

    const newPeerUrl = `http://127.0.0.1:${await freePort()}`;
    await cluster.memberUpdate({ ID: learnerId, peerURLs: [newPeerUrl] });
    const updated = (await cluster.memberList({})).members.find((m) => m.ID === learnerId);
    expect(updated?.peerURLs).toEqual([newPeerUrl]);

    const removed = await cluster.memberRemove({ ID: learnerId });
    expect(removed.members.map((m) => m.ID)).toEqual(before.members.map((m) => m.ID));
    expect((await cluster.memberList({})).members).toHaveLength(1);
  });

  test("Maintenance: Alarm, Status, Defragment, Hash, HashKV, Snapshot, MoveLeader", async () => {
    const maintenance = createClient(Maintenance, transport);
    const alarms = await maintenance.alarm({
      action: AlarmRequest_AlarmAction.GET,
      memberID: 0n,
      alarm: AlarmType.NONE,
    });
    expect(alarms.alarms).toEqual([]);

    const status = await maintenance.status({});
    // The kit ran the pinned release of ETCD_VERSION's line, unless ETCD_BIN named another binary.
    expect(status.version).toBe(pinnedEtcdVersion() ?? status.version);
    expect(status.version).toMatch(/^3\.\d+\.\d+$/);
    expect(status.leader).toBe(status.header!.memberId);
    expect(status.dbSize).toBeGreaterThan(0n);

    // etcd 3.4 answers Defragment with an empty message (no header), later ones with a header; the file
    // cannot grow from it.
    const defrag = await maintenance.defragment({});
    expect(defrag.$typeName).toBe("etcdserverpb.DefragmentResponse");
    expect((await maintenance.status({})).dbSize).toBeLessThanOrEqual(status.dbSize);

    await createClient(KV, transport).put({ key: te.encode("maint/a"), value: te.encode("x") });
    const hash1 = await maintenance.hash({});
    await createClient(KV, transport).put({ key: te.encode("maint/a"), value: te.encode("y") });
    const hash2 = await maintenance.hash({});
    expect(hash1.hash).not.toBe(hash2.hash);

    const hashKv = await maintenance.hashKV({ revision: 0n });
    expect(hashKv.hash).toBeGreaterThan(0);
    expect(hashKv.header!.revision).toBeGreaterThan(0n);

    let bytes = 0;
    let last: bigint | undefined;
    for await (const chunk of maintenance.snapshot({})) {
      bytes += chunk.blob.length;
      last = chunk.remainingBytes;
    }
    expect(bytes).toBeGreaterThan(0);
    expect(last).toBe(0n);

    const moved = await maintenance.moveLeader({ targetID: status.leader });
    expect(moved.$typeName).toBe("etcdserverpb.MoveLeaderResponse");
    expect((await maintenance.status({})).leader).toBe(status.leader);
  });

  test("Auth: all 16 RPCs of 3.4", async () => {
    const auth = createClient(Auth, transport);
    const kv = createClient(KV, transport);
    await auth.userAdd({ name: "root", password: "rootpw" });
    await auth.userGrantRole({ user: "root", role: "root" });
    await auth.roleAdd({ name: "app" });
    await auth.roleGrantPermission({
      name: "app",
      perm: { permType: Permission_Type.READWRITE, key: te.encode("app/"), rangeEnd: te.encode("app0") },
    });
    const role = await auth.roleGet({ role: "app" });
    expect(role.perm.map((p) => [p.permType, td.decode(p.key), td.decode(p.rangeEnd)])).toEqual([
      [Permission_Type.READWRITE, "app/", "app0"],
    ]);
    // The built-in root role exists without RoleAdd but is not listed by etcd 3.4.
    expect((await auth.roleList({})).roles).toEqual(["app"]);
    await auth.userAdd({ name: "alice", password: "first" });
    await auth.userGrantRole({ user: "alice", role: "app" });
    expect((await auth.userGet({ name: "alice" })).roles).toEqual(["app"]);
    expect((await auth.userList({})).users).toEqual(["alice", "root"]);
    await auth.userChangePassword({ name: "alice", password: "second" });

    await auth.authEnable({});
    await expectConnectError(
      auth.authenticate({ name: "alice", password: "first" }),
      Code.InvalidArgument,
      "etcdserver: authentication failed, invalid user ID or password",
    );
    const alice = {
      headers: { token: (await auth.authenticate({ name: "alice", password: "second" })).token },
    };
    await kv.put({ key: te.encode("app/x"), value: te.encode("1") }, alice);
    const root = {
      headers: { token: (await auth.authenticate({ name: "root", password: "rootpw" })).token },
    };

    await auth.roleRevokePermission(
      { role: "app", key: te.encode("app/"), rangeEnd: te.encode("app0") },
      root,
    );
    expect((await auth.roleGet({ role: "app" }, root)).perm).toEqual([]);
    await expectConnectError(
      kv.put({ key: te.encode("app/x"), value: te.encode("2") }, alice),
      Code.PermissionDenied,
      "etcdserver: permission denied",
    );
    await auth.userRevokeRole({ name: "alice", role: "app" }, root);
    expect((await auth.userGet({ name: "alice" }, root)).roles).toEqual([]);
    await auth.userDelete({ name: "alice" }, root);
    expect((await auth.userList({}, root)).users).toEqual(["root"]);
    await auth.roleDelete({ role: "app" }, root);
    expect((await auth.roleList({}, root)).roles).toEqual([]);

    await auth.authDisable({}, root);
    expect((await kv.range({ key: te.encode("app/x") })).count).toBe(1n);
  });

  test("Downgrade and AuthStatus: Unimplemented on 3.4, served from 3.5", async () => {
    const { version } = await createClient(Maintenance, transport).status({});
    if (versionAtLeast(version, "3.5")) {
      const [major, minor] = version.split(".").map(Number) as [number, number];
      // VALIDATE one minor below changes nothing and answers the cluster version ("3.5.0", "3.6", ...).
      const validated = await createClient(Maintenance, transport).downgrade({
        action: DowngradeRequest_DowngradeAction.VALIDATE,
        version: `${major}.${minor - 1}`,
      });
      expect(validated.version.startsWith(`${major}.${minor}`)).toBe(true);
      const auth = await createClient(Auth, transport).authStatus({});
      expect([auth.enabled, auth.authRevision > 0n]).toEqual([false, true]);
      return;
    }
    await expectConnectError(
      createClient(Maintenance, transport).downgrade({}),
      Code.Unimplemented,
      "unknown method Downgrade for service etcdserverpb.Maintenance",
    );
    await expectConnectError(
      createClient(Auth, transport).authStatus({}),
      Code.Unimplemented,
      "unknown method AuthStatus for service etcdserverpb.Auth",
    );
  });
});

import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NotSupportedOverGatewayError } from "../../src/client/index.js";
import { Auth, KV, Lease, Maintenance } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { expectConnectError } from "../support/expect-error.js";
import { versionAtLeast } from "../support/server-version.js";
import { type ClosableTransport, transportsWithGateway } from "../support/transports.js";
import { within } from "../support/wait.js";

const te = new TextEncoder();
const td = new TextDecoder();
const MiB = 1024 * 1024;

let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.close();
});

describe.each(transportsWithGateway)("unary calls and error statuses over $name", (factory) => {
  let transport: ClosableTransport;
  const key = (suffix: string) => te.encode(`${factory.name}/${suffix}`);
  beforeAll(() => {
    transport = factory.create({ baseUrl: etcd.endpoint });
  });
  afterAll(async () => {
    await transport?.close();
  });

  test("Put then Range returns the value", async () => {
    const kv = createClient(KV, transport);
    const put = await kv.put({ key: key("a"), value: te.encode("1") });
    const range = await kv.range({ key: key("a") });
    expect(range.kvs.map((kv) => [td.decode(kv.key), td.decode(kv.value), kv.modRevision])).toEqual([
      [`${factory.name}/a`, "1", put.header!.revision],
    ]);
    expect(range.kvs[0]!.value).toBeInstanceOf(Uint8Array);
  });

  test("NotFound: revoking an unknown lease", async () => {
    await expectConnectError(
      createClient(Lease, transport).leaseRevoke({ ID: 0x7fff_ffff_ffffn }),
      Code.NotFound,
      "etcdserver: requested lease not found",
    );
  });

  test("InvalidArgument: an empty key", async () => {
    const error = await expectConnectError(
      createClient(KV, transport).range({ key: new Uint8Array() }),
      Code.InvalidArgument,
      "etcdserver: key is not provided",
    );
    expect(error.metadata).toBeInstanceOf(Headers);
  });

  test("InvalidArgument: a txn that puts the same key twice", async () => {
    const put = {
      request: { case: "requestPut" as const, value: { key: key("dup"), value: te.encode("x") } },
    };
    await expectConnectError(
      createClient(KV, transport).txn({ success: [put, put] }),
      Code.InvalidArgument,
      "etcdserver: duplicate key given in txn request",
    );
  });

  test("OutOfRange: a compacted and a future revision", async () => {
    const kv = createClient(KV, transport);
    const first = await kv.put({ key: key("c"), value: te.encode("1") });
    const second = await kv.put({ key: key("c"), value: te.encode("2") });
    await kv.compact({ revision: second.header!.revision, physical: true });
    await expectConnectError(
      kv.range({ key: key("c"), revision: first.header!.revision }),
      Code.OutOfRange,
      "etcdserver: mvcc: required revision has been compacted",
    );
    await expectConnectError(
      kv.range({ key: key("c"), revision: second.header!.revision + 1000n }),
      Code.OutOfRange,
      "etcdserver: mvcc: required revision is a future revision",
    );
  });

  test("FailedPrecondition: enabling auth without a root user, authenticating while auth is off", async () => {
    const auth = createClient(Auth, transport);
    await expectConnectError(
      auth.authEnable({}),
      Code.FailedPrecondition,
      "etcdserver: root user does not exist",
    );
    await expectConnectError(
      auth.authenticate({ name: "root", password: "x" }),
      Code.FailedPrecondition,
      "etcdserver: authentication is not enabled",
    );
  });

  test("RPCs added after 3.4 (Downgrade, AuthStatus): Unimplemented on 3.4, served from 3.5", async () => {
    const version = (await createClient(Maintenance, transport).status({})).version;
    if (versionAtLeast(version, "3.5")) {
      // Served: a downgrade to the running minor is refused as a bad target (nothing changes).
      await expectConnectError(
        createClient(Maintenance, transport).downgrade({ version: version.split(".").slice(0, 2).join(".") }),
        Code.InvalidArgument,
        "etcdserver: invalid downgrade target version",
      );
      expect((await createClient(Auth, transport).authStatus({})).enabled).toBe(false);
      return;
    }
    if (factory.name === "gateway") {
      // 3.4's gateway has no path for either: its router's 404, typed as the gateway transport types it.
      // One call at a time: both started at once, the second could reject while the first was awaited,
      // with no handler yet (an unhandled rejection, whichever answered first).
      for (const call of [
        () => createClient(Maintenance, transport).downgrade({}),
        () => createClient(Auth, transport).authStatus({}),
      ]) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(NotSupportedOverGatewayError);
        expect((error as NotSupportedOverGatewayError).code).toBe(Code.Unimplemented);
      }
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

  test("a 1.4 MiB value round-trips; 1.6 MiB is rejected by etcd as too large", async () => {
    const kv = createClient(KV, transport);
    const value = new Uint8Array(1.4 * MiB);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7919) & 0xff;
    await kv.put({ key: key("big"), value });
    const back = await kv.range({ key: key("big") });
    expect(back.kvs[0]!.value.length).toBe(value.length);
    expect(Buffer.compare(back.kvs[0]!.value, value)).toBe(0);
    // etcd 3.4 answers InvalidArgument (not ResourceExhausted) for requests over --max-request-bytes.
    await expectConnectError(
      kv.put({ key: key("bigger"), value: new Uint8Array(1.6 * MiB) }),
      Code.InvalidArgument,
      "etcdserver: request is too large",
    );
  });

  test("DeadlineExceeded: a tiny timeout on a large Range", async () => {
    const kv = createClient(KV, transport);
    const value = new Uint8Array(64 * 1024);
    await Promise.all(
      Array.from({ length: 48 }, (_, i) =>
        kv.put({ key: key(`deadline/${String(i).padStart(3, "0")}`), value }),
      ),
    );
    const prefix = key("deadline/");
    const rangeEnd = key("deadline0");
    await within(
      expectConnectError(kv.range({ key: prefix, rangeEnd }, { timeoutMs: 1 }), Code.DeadlineExceeded),
      "the range to hit its 1 ms deadline",
    );
    // The same Range without a deadline works: the failure above came from the deadline.
    expect((await kv.range({ key: prefix, rangeEnd })).kvs).toHaveLength(48);
  });
});

import { Code, createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { Permission_Type } from "../../src/gen/authpb/auth_pb.js";
import { Auth, KV } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { expectConnectError } from "../support/expect-error.js";
import { type ClosableTransport, transportsWithGateway } from "../support/transports.js";

const te = new TextEncoder();

// Auth is cluster-wide, so this file has its own member; each transport enables and disables it.
let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd();
  const setup = transportsWithGateway[0]!.create({ baseUrl: etcd.endpoint });
  try {
    const auth = createClient(Auth, setup);
    await auth.userAdd({ name: "root", password: "rootpw" });
    await auth.userGrantRole({ user: "root", role: "root" });
    await auth.roleAdd({ name: "reader" });
    await auth.roleGrantPermission({
      name: "reader",
      perm: { permType: Permission_Type.READ, key: te.encode("public/"), rangeEnd: te.encode("public0") },
    });
    await auth.userAdd({ name: "alice", password: "alicepw" });
    await auth.userGrantRole({ user: "alice", role: "reader" });
  } finally {
    await setup.close();
  }
});
afterAll(async () => {
  await etcd?.close();
});

describe.each(transportsWithGateway)("auth over $name", (factory) => {
  let transport: ClosableTransport;
  let rootToken = "";
  beforeAll(async () => {
    transport = factory.create({ baseUrl: etcd.endpoint });
    await createClient(Auth, transport).authEnable({});
    rootToken = (await createClient(Auth, transport).authenticate({ name: "root", password: "rootpw" }))
      .token;
  });
  afterAll(async () => {
    if (rootToken) await createClient(Auth, transport).authDisable({}, { headers: { token: rootToken } });
    await transport?.close();
  });
  afterEach(() => {
    expect(rootToken).not.toBe("");
  });

  test("the token header authenticates a call", async () => {
    const kv = createClient(KV, transport);
    await kv.put({ key: te.encode("public/a"), value: te.encode("1") }, { headers: { token: rootToken } });
    const range = await kv.range({ key: te.encode("public/a") }, { headers: { token: rootToken } });
    expect(range.count).toBe(1n);
  });

  test("InvalidArgument: no token at all", async () => {
    await expectConnectError(
      createClient(KV, transport).range({ key: te.encode("public/a") }),
      Code.InvalidArgument,
      "etcdserver: user name is empty",
    );
  });

  test("InvalidArgument: a wrong password", async () => {
    await expectConnectError(
      createClient(Auth, transport).authenticate({ name: "root", password: "wrong" }),
      Code.InvalidArgument,
      "etcdserver: authentication failed, invalid user ID or password",
    );
  });

  test("Unauthenticated: a token etcd never issued", async () => {
    await expectConnectError(
      createClient(KV, transport).range(
        { key: te.encode("public/a") },
        { headers: { token: "not-a-token" } },
      ),
      Code.Unauthenticated,
      "etcdserver: invalid auth token",
    );
  });

  test("PermissionDenied: a user without the permission; allowed where the role grants it", async () => {
    const token = (await createClient(Auth, transport).authenticate({ name: "alice", password: "alicepw" }))
      .token;
    const kv = createClient(KV, transport);
    expect((await kv.range({ key: te.encode("public/a") }, { headers: { token } })).count).toBe(1n);
    await expectConnectError(
      kv.put({ key: te.encode("public/a"), value: te.encode("2") }, { headers: { token } }),
      Code.PermissionDenied,
      "etcdserver: permission denied",
    );
    await expectConnectError(
      kv.range({ key: te.encode("private/a") }, { headers: { token } }),
      Code.PermissionDenied,
      "etcdserver: permission denied",
    );
  });
});

import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDefaultTransport } from "../../src/client/call/default-transport.js";
import { Maintenance } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, EtcdGatewayError, gatewayRequest, startEtcd } from "../../src/testing/index.js";
import { enableAuth } from "../support/etcdctl.js";
import { hasAuthHardening, versionAtLeast } from "../support/server-version.js";

/**
 * `etcd-ts/testing` on every etcd line: client URLs only, and auth. etcd 3.4.42+, 3.5.28+ and 3.6.9+ refuse
 * Maintenance/Status without a token (CVE-2026-33413): a (re)start must still see the member ready
 * without credentials, and the kit's own calls that need a status or root authenticate as the user
 * `useCredentials` gives, or say that they need one.
 */
const ROOT = { username: "root", password: "root-Kit-pw-1" };
const ALICE = { username: "alice", password: "alice-Kit-pw-2" };

let cluster: EtcdCluster;
let version: string;

/** The error `call` rejects with (fails the test if it resolves). */
async function refusal(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error("expected a refusal");
    },
    (err: unknown) => err,
  );
}

beforeAll(async () => {
  cluster = await startEtcd();
  version = (await cluster.members[0]!.status()).version;
  await enableAuth(cluster.endpoint, {
    rootPassword: ROOT.password,
    role: { name: "app", grants: [["readwrite", "app/"]], users: [ALICE] },
  });
});

afterAll(async () => {
  await cluster?.close();
});

describe("endpoints", () => {
  it("are client URLs only: from 3.6 a peer URL serves no client gRPC (3.4 and 3.5 still answer there)", async () => {
    const member = cluster.members[0]!;
    expect(cluster.endpoints).toEqual([member.clientUrl]);
    expect(cluster.endpoints).not.toContain(member.peerUrl);
    const transport = createDefaultTransport(
      { url: member.peerUrl, secure: false, tls: undefined },
      { keepaliveIntervalMs: 10_000, keepaliveTimeoutMs: 5_000, connectTimeoutMs: 5_000 },
    );
    try {
      // Auth is on: a member that serves the call there answers it or refuses it for want of a token.
      const status = createClient(Maintenance, transport).status({}, { timeoutMs: 5_000 });
      if (versionAtLeast(version, "3.6"))
        await expect(status).rejects.toMatchObject({ code: Code.Unavailable });
      else if (hasAuthHardening(version))
        await expect(status).rejects.toMatchObject({
          code: Code.InvalidArgument,
          rawMessage: "etcdserver: user name is empty",
        });
      else await expect(status).resolves.toMatchObject({ version });
    } finally {
      await transport.close();
    }
  });
});

describe("the test kit under auth", () => {
  it("reads a refused gateway call the same on every line ({error, code, message} to 3.5, {code, message} from 3.6)", async () => {
    const err = await refusal(gatewayRequest(cluster.endpoint, "/v3/kv/range", { key: "YQ==" }));
    expect(err).toBeInstanceOf(EtcdGatewayError);
    expect(err).toMatchObject({
      kind: "GATEWAY_STATUS",
      status: 400,
      grpcCode: Code.InvalidArgument,
      code: Code.InvalidArgument,
      reason: "etcdserver: user name is empty",
    });
  });

  it("restarts a member without credentials; its status (and leader()) then say how to give the kit a user", async () => {
    const member = cluster.members[0]!;
    const id = member.memberId;
    await member.restart();
    expect(member.memberId).toBe(id);
    if (!hasAuthHardening(version)) {
      // 3.4.23 answers Status without a token.
      expect((await member.status()).memberId).toBe(id);
      expect(await cluster.leader()).toBe(member);
      return;
    }
    for (const call of [() => member.status(), () => cluster.leader({ timeoutMs: 20_000 })]) {
      const err = await refusal(call());
      expect(err).toBeInstanceOf(EtcdGatewayError);
      expect(err).toMatchObject({ grpcCode: Code.InvalidArgument, reason: "etcdserver: user name is empty" });
      expect((err as Error).message).toContain("cluster.useCredentials({ username, password })");
    }
  });

  it("with root's credentials: leader() and status() across a restart (a new token), a learner added and removed", async () => {
    cluster.useCredentials(ROOT);
    try {
      const member = cluster.members[0]!;
      expect(await cluster.leader()).toBe(member);
      // A restart voids every simple token: the kit's is refused once, then replaced.
      await member.kill();
      await member.start();
      expect((await member.status()).leader).not.toBe(0n);
      // Its ID comes from MemberAdd's answer: a learner refuses Authenticate, so the kit cannot ask it.
      const learner = await cluster.addMember({ learner: true });
      expect(learner.memberId).toBeDefined();
      expect(learner.running).toBe(true);
      await cluster.removeMember(learner);
      expect(cluster.members).toEqual([member]);
    } finally {
      cluster.useCredentials(undefined);
    }
  });

  it("with a plain user's credentials, a membership change is refused with etcd's PERMISSION_DENIED", async () => {
    cluster.useCredentials(ALICE);
    try {
      expect((await cluster.members[0]!.status()).memberId).toBe(cluster.members[0]!.memberId);
      const err = await refusal(cluster.addMember({ learner: true }));
      expect(err).toBeInstanceOf(EtcdGatewayError);
      expect(err).toMatchObject({ grpcCode: Code.PermissionDenied, reason: "etcdserver: permission denied" });
      expect(cluster.members).toHaveLength(1);
    } finally {
      cluster.useCredentials(undefined);
    }
  });
});

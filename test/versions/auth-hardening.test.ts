import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthRequiredError,
  Etcd,
  type EtcdError,
  NotSupportedError,
  PermissionDeniedError,
} from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { enableAuth } from "../support/etcdctl.js";
import { hasAuthHardening, versionAtLeast } from "../support/server-version.js";

/**
 * The client under auth on every etcd line. CVE-2026-33413 (3.4.42, 3.5.28, 3.6.9) made Status, Alarm
 * (GET), MemberList, LeaseGrant, LeaseRevoke and LeaseTimeToLive need a valid token; 3.5.28 and 3.6
 * made Alarm activate/deactivate and Downgrade admin calls. With a token each works for a plain user;
 * without one, or without the root role for an admin call, the refusal is typed and names the call.
 */
const ROOT_PW = "root-Hardening-pw-1";
const ALICE_PW = "alice-Hardening-pw-2";

let cluster: EtcdCluster;
let version: string;
let root: Etcd;
let alice: Etcd;
let anonymous: Etcd;

/** The error `call` rejects with (fails the test if it resolves). */
async function refusal(call: Promise<unknown>): Promise<EtcdError> {
  return call.then(
    (value) => {
      throw new Error(
        `expected a refusal, got ${JSON.stringify(value, (_, v) => (typeof v === "bigint" ? String(v) : v))}`,
      );
    },
    (err: EtcdError) => err,
  );
}

/** Asserts `err` is a permission refusal of `rpc` (an admin call, "needs the root role"). */
function expectAdminRefusal(err: EtcdError, rpc: string): void {
  expect(err).toBeInstanceOf(PermissionDeniedError);
  expect(err).not.toBeInstanceOf(AuthRequiredError);
  expect(err).toMatchObject({ rpc, code: Code.PermissionDenied, endpoint: cluster.endpoint });
  expect(err.message).toContain(`(${rpc} needs the root role)`);
}

/** Asserts `err` is the refusal of a call without a token, naming `rpc`. */
function expectAuthRequired(err: EtcdError, rpc: string): void {
  expect(err).toBeInstanceOf(AuthRequiredError);
  expect(err).toMatchObject({
    rpc,
    code: Code.InvalidArgument,
    serverMessage: "etcdserver: user name is empty",
  });
  expect(err.message).toContain(`(${rpc} needs an authenticated user; the client sent no token)`);
}

beforeAll(async () => {
  cluster = await startEtcd();
  await enableAuth(cluster.endpoint, {
    rootPassword: ROOT_PW,
    role: {
      name: "app",
      grants: [["readwrite", "app/"]],
      users: [{ username: "alice", password: ALICE_PW }],
    },
  });
  const options = { endpoints: cluster.endpoints, timeoutMs: 5_000 };
  root = new Etcd({ ...options, auth: { username: "root", password: ROOT_PW } });
  alice = new Etcd({ ...options, auth: { username: "alice", password: ALICE_PW } });
  anonymous = new Etcd(options);
  version = (await root.status()).version;
});

afterAll(async () => {
  await Promise.allSettled([root, alice, anonymous].map((c) => c?.close()));
  await cluster?.close();
});

describe("a plain user with a token", () => {
  it("asks status, alarms and the member list, syncs endpoints, and grants, reads and revokes leases", async () => {
    const status = await alice.maintenance.status(cluster.endpoint);
    expect(status.version).toBe(version);
    expect((await alice.status()).memberId).toBe(status.memberId);
    expect(await alice.maintenance.alarms()).toEqual([]);
    const members = await alice.cluster.list();
    expect(members.map((m) => m.id)).toEqual([status.memberId]);
    // What autosync (autoSyncIntervalMs) runs.
    expect(await alice.syncEndpoints()).toEqual(cluster.endpoints);
    const lease = await alice.lease.grant(30, { keepAlive: false });
    await alice.put("app/leased", "1", { lease: lease.id });
    const ttl = await alice.lease.timeToLive(lease.id, { keys: true });
    expect(ttl.grantedTtl).toBe(30);
    await alice.lease.revoke(lease.id);
    expect(await alice.get("app/leased")).toBeUndefined();
  });

  it("is refused an admin call, with PermissionDeniedError naming it (Alarm deactivate and Downgrade only from 3.5)", async () => {
    const memberId = (await alice.status()).memberId;
    expectAdminRefusal(
      await refusal(alice.cluster.add(["http://127.0.0.1:1"], { learner: true })),
      "Cluster/MemberAdd",
    );
    // etcd 3.4 and 3.5 answer HashKV with the bare auth error (code UNKNOWN): same class, same code.
    expectAdminRefusal(await refusal(alice.maintenance.hashKV(cluster.endpoint)), "Maintenance/HashKV");
    expectAdminRefusal(
      await refusal(
        alice.maintenance.snapshot({ endpoint: cluster.endpoint })[Symbol.asyncIterator]().next(),
      ),
      "Maintenance/Snapshot",
    );
    const disarm = () => alice.maintenance.disarm({ memberId, alarm: "NOSPACE" });
    const downgrade = () => alice.maintenance.downgrade("validate", "3.4");
    if (versionAtLeast(version, "3.5")) {
      expectAdminRefusal(await refusal(disarm()), "Maintenance/Alarm");
      expectAdminRefusal(await refusal(downgrade()), "Maintenance/Downgrade");
    } else {
      // 3.4.23 lets any user deactivate an alarm, and has no Downgrade.
      expect(await disarm()).toEqual([]);
      expect(await refusal(downgrade())).toBeInstanceOf(NotSupportedError);
    }
  });

  it("is told whether auth is on by AuthStatus on 3.7 (any user); 3.5 and 3.6 make it an admin call", async () => {
    const status = alice.auth.status();
    if (versionAtLeast(version, "3.7")) expect(await status).toMatchObject({ enabled: true });
    else if (versionAtLeast(version, "3.5")) expectAdminRefusal(await refusal(status), "Auth/AuthStatus");
    else expect(await refusal(status)).toBeInstanceOf(NotSupportedError);
    if (versionAtLeast(version, "3.5")) expect(await root.auth.status()).toMatchObject({ enabled: true });
  });
});

describe("root", () => {
  it("deactivates alarms, validates a downgrade and lists members", async () => {
    const memberId = (await root.status()).memberId;
    expect(await root.maintenance.disarm({ memberId, alarm: "NOSPACE" })).toEqual([]);
    if (versionAtLeast(version, "3.5")) {
      const [major, minor] = version.split(".").map(Number) as [number, number];
      const { version: clusterVersion } = await root.maintenance.downgrade(
        "validate",
        `${major}.${minor - 1}`,
      );
      expect(clusterVersion.startsWith(`${major}.${minor}`)).toBe(true);
    }
    expect((await root.cluster.list({ linearizable: true })).map((m) => m.id)).toEqual([memberId]);
  });
});

describe("a client without credentials", () => {
  it("is refused the hardened calls from 3.4.42/3.5.28/3.6.9 with AuthRequiredError naming each; 3.4.23 answers them", async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ["Maintenance/Status", () => anonymous.maintenance.status(cluster.endpoint)],
      ["Maintenance/Alarm", () => anonymous.maintenance.alarms()],
      ["Cluster/MemberList", () => anonymous.cluster.list()],
      ["Lease/LeaseGrant", () => anonymous.lease.grant(30, { keepAlive: false })],
    ];
    for (const [rpc, call] of calls) {
      if (hasAuthHardening(version)) expectAuthRequired(await refusal(call()), rpc);
      else await call();
    }
    // Reads and writes always needed a user.
    expectAuthRequired(await refusal(anonymous.get("app/x")), "KV/Range");
  });
});

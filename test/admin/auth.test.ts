import { inspect } from "node:util";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthFailedError,
  Etcd,
  EtcdError,
  InvalidArgumentError,
  NotSupportedError,
  PermissionDeniedError,
} from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { versionAtLeast } from "../support/server-version.js";

// This file's own member: auth is switched on here and off again at the end.
let cluster: EtcdCluster;
let open: Etcd;
const clients: Etcd[] = [];
const ROOT_PASSWORD = "r00t-secret-do-not-print";

const enc = (s: string) => new TextEncoder().encode(s);

/** A client authenticated as `username`; closed in afterAll. */
function as(username: string, password: string): Etcd {
  const c = new Etcd({ endpoints: cluster.endpoints, auth: { username, password }, timeoutMs: 5_000 });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  cluster = await startEtcd();
  open = new Etcd({ endpoints: cluster.endpoints, timeoutMs: 5_000 });
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await open?.close();
  await cluster?.close();
});

describe("users and roles (auth off)", () => {
  it("adds, gets and lists users and roles", async () => {
    expect(await open.auth.users.list()).toEqual([]);
    expect(await open.auth.roles.list()).toEqual([]);
    await open.auth.users.add("alice", "alice-pw");
    await open.auth.users.add("bob", "bob-pw");
    await open.auth.roles.add("readA");
    await open.auth.roles.add("scratch");
    expect(await open.auth.users.list()).toEqual(["alice", "bob"]);
    expect(await open.auth.roles.list()).toEqual(["readA", "scratch"]);
    expect(await open.auth.users.get("alice")).toEqual({ name: "alice", roles: [] });
    expect(await open.auth.roles.get("readA")).toEqual({ name: "readA", permissions: [] });
  });

  it("grants permissions on a key, a prefix, a range and from a key, and reads them back", async () => {
    await open.auth.roles.grantPermission("scratch", { key: "one", type: "write" });
    await open.auth.roles.grantPermission("scratch", { prefix: "p/", type: "readwrite" });
    await open.auth.roles.grantPermission("scratch", { key: "r1", end: "r5", type: "read" });
    await open.auth.roles.grantPermission("scratch", { fromKey: "z", type: "read" });
    const { permissions } = await open.auth.roles.get("scratch");
    expect(permissions.map((p) => ({ type: p.type, range: p.range }))).toEqual([
      { type: "write", range: { key: enc("one") } },
      { type: "readwrite", range: { prefix: enc("p/") } },
      { type: "read", range: { key: enc("r1"), end: enc("r5") } },
      { type: "read", range: { fromKey: enc("z") } },
    ]);
    expect(permissions[1]!.rangeEnd).toEqual(enc("p0"));
    await open.auth.roles.revokePermission("scratch", { prefix: "p/" });
    await open.auth.roles.revokePermission("scratch", "one");
    expect((await open.auth.roles.get("scratch")).permissions.map((p) => p.type)).toEqual(["read", "read"]);
  });

  it("grants and revokes roles, deletes users and roles", async () => {
    await open.auth.users.grantRole("bob", "scratch");
    await open.auth.users.grantRole("bob", "readA");
    expect((await open.auth.users.get("bob")).roles).toEqual(["readA", "scratch"]);
    await open.auth.users.revokeRole("bob", "readA");
    expect((await open.auth.users.get("bob")).roles).toEqual(["scratch"]);
    await open.auth.roles.delete("scratch");
    expect(await open.auth.roles.list()).toEqual(["readA"]);
    // A deleted role is gone from its users too.
    expect((await open.auth.users.get("bob")).roles).toEqual([]);
    await open.auth.users.delete("bob");
    expect(await open.auth.users.list()).toEqual(["alice"]);
  });

  it("the server's refusals come back typed", async () => {
    const missing = await open.auth.users.get("nobody").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(EtcdError);
    expect((missing as EtcdError).serverMessage).toBe("etcdserver: user name not found");
    const twice = await open.auth.roles.add("readA").catch((e: unknown) => e);
    expect((twice as EtcdError).serverMessage).toBe("etcdserver: role name already exists");
    const noRole = await open.auth.users.grantRole("alice", "ghost").catch((e: unknown) => e);
    expect((noRole as EtcdError).serverMessage).toBe("etcdserver: role name not found");
    // Enabling needs a root user with the root role.
    const noRoot = await open.auth.enable().catch((e: unknown) => e);
    expect((noRoot as EtcdError).serverMessage).toMatch(/root user does not exist/);
  });

  it("validates input before sending, never echoing a password", async () => {
    await expect(open.auth.users.add("", "pw")).rejects.toMatchObject({ field: "name" });
    await expect(open.auth.users.add("carol", "")).rejects.toMatchObject({ field: "password" });
    await expect(open.auth.users.add("carol", "pw", { noPassword: true })).rejects.toMatchObject({
      field: "password",
    });
    await expect(open.auth.roles.add("")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(open.auth.users.grantRole("alice", "")).rejects.toMatchObject({ field: "role" });
    await expect(
      open.auth.roles.grantPermission("readA", { prefix: "a/", type: "admin" as "read" }),
    ).rejects.toMatchObject({ field: "permission.type" });
    await expect(open.auth.roles.grantPermission("readA", { key: "", type: "read" })).rejects.toMatchObject({
      field: "key",
    });
  });

  it("a user without password can be added", async () => {
    await open.auth.users.add("certonly", "", { noPassword: true });
    expect(await open.auth.users.get("certonly")).toEqual({ name: "certonly", roles: [] });
    await open.auth.users.delete("certonly");
  });

  it("AuthStatus says auth is off on 3.5+; NotSupportedError naming the RPC on 3.4", async () => {
    const { version } = await open.status();
    if (versionAtLeast(version, "3.5")) {
      const status = await open.auth.status();
      expect(status.enabled).toBe(false);
      expect(status.authRevision).toBeGreaterThan(0n);
      return;
    }
    const err = await open.auth.status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as NotSupportedError).code).toBe(Code.Unimplemented);
    expect((err as NotSupportedError).message).toMatch(/Auth\/AuthStatus .*requires etcd >= 3\.5/);
  });
});

describe("enforcement (auth on)", () => {
  let root: Etcd;

  beforeAll(async () => {
    await open.auth.users.add("root", ROOT_PASSWORD);
    await open.auth.roles.add("root");
    await open.auth.users.grantRole("root", "root");
    await open.auth.roles.grantPermission("readA", { prefix: "a/", type: "read" });
    await open.auth.users.grantRole("alice", "readA");
    await open.put("a/x", "1");
    await open.auth.enable();
    root = as("root", ROOT_PASSWORD);
  });

  it("refuses calls without credentials once enabled", async () => {
    const err = await open.get("a/x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect((err as EtcdError).serverMessage).toBe("etcdserver: user name is empty");
  });

  it("a user with read on a/ can read it but not write it", async () => {
    const alice = as("alice", "alice-pw");
    expect((await alice.get("a/x"))?.text()).toBe("1");
    await expect(alice.put("a/x", "2")).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(alice.get("b/x")).rejects.toBeInstanceOf(PermissionDeniedError);
    expect((await root.get("a/x"))?.text()).toBe("1");
  });

  it("a registry user scoped to services/<name>/ cannot touch another service", async () => {
    await root.auth.roles.add("svc-alpha");
    await root.auth.roles.grantPermission("svc-alpha", { prefix: "services/alpha/", type: "readwrite" });
    await root.auth.users.add("alpha", "alpha-pw");
    await root.auth.users.grantRole("alpha", "svc-alpha");
    await root.put("services/beta/1", "beta");
    const alpha = as("alpha", "alpha-pw");
    await alpha.put("services/alpha/1", "up");
    expect((await alpha.get("services/alpha/1"))?.text()).toBe("up");
    expect((await alpha.range({ prefix: "services/alpha/" })).kvs).toHaveLength(1);
    await expect(alpha.put("services/beta/1", "taken")).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(alpha.delete("services/beta/1")).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(alpha.range({ prefix: "services/beta/" })).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(alpha.range({ prefix: "services/" })).rejects.toBeInstanceOf(PermissionDeniedError);
    // Nor manage users: that takes the root role.
    await expect(alpha.auth.users.list()).rejects.toBeInstanceOf(PermissionDeniedError);
    expect((await root.get("services/beta/1"))?.text()).toBe("beta");
  });

  it("changePassword: the old password stops working, the new one works", async () => {
    await root.auth.users.changePassword("alice", "alice-pw-2");
    const old = await as("alice", "alice-pw")
      .get("a/x")
      .catch((e: unknown) => e);
    expect(old).toBeInstanceOf(AuthFailedError);
    expect(String(old)).not.toContain("alice-pw");
    expect((await as("alice", "alice-pw-2").get("a/x"))?.text()).toBe("1");
    expect(inspect(root)).not.toContain(ROOT_PASSWORD);
  });

  it("disable turns enforcement off again", async () => {
    await root.auth.disable();
    const fresh = new Etcd({ endpoints: cluster.endpoints, timeoutMs: 5_000 });
    clients.push(fresh);
    await fresh.put("services/beta/1", "free");
    expect((await fresh.get("services/beta/1"))?.text()).toBe("free");
    expect(await fresh.auth.users.list()).toEqual(["alice", "alpha", "root"]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compare, type Etcd, EtcdError, InvalidArgumentError, op } from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { mintToken } from "../support/auth-tokens.js";
import { CallTap } from "../support/call-tap.js";
import { enableAuth } from "../support/etcdctl.js";

/**
 * `CallOptions.metadata` is sent with that call. etcd ignores metadata it does not know, but it reads
 * a token from `authorization` when no `token` is sent: on a member with auth on, a client without the
 * `auth` option succeeds only when its metadata reached the server. The tap shows what the client
 * handed to the transport.
 */
const ROOT_PW = "root-Metadata-pw-1";

let cluster: EtcdCluster;
let token: string;
const clients: Etcd[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  await enableAuth(cluster.endpoint, { rootPassword: ROOT_PW });
  token = await mintToken(cluster.endpoint, "root", ROOT_PW);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
});

describe("CallOptions.metadata", () => {
  it("reaches the server on every call that takes CallOptions, and only on that call", async () => {
    const tap = new CallTap();
    const etcd = tap.client({ endpoints: cluster.endpoints });
    clients.push(etcd);
    // Without the metadata the member sees no user.
    const refused = await etcd.get("m/k").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EtcdError);
    expect((refused as EtcdError).serverMessage).toBe("etcdserver: user name is empty");

    const o = { metadata: { authorization: token, "X-Request-Id": "req-1" } };
    const put = await etcd.put("m/k", "v", o);
    expect((await etcd.get("m/k", o))?.text()).toBe("v");
    expect((await etcd.range({ prefix: "m/" }, o)).count).toBe(1n);
    const keys: string[] = [];
    for await (const kv of etcd.iterate({ prefix: "m/" }, o)) keys.push(kv.text());
    expect(keys).toEqual(["v"]);
    const txn = await etcd
      .txn()
      .if(compare.value("m/k", "=", "v"))
      .onSuccess(op.put("m/t", "x"))
      .commit(o);
    expect(txn.succeeded).toBe(true);
    const lease = await etcd.lease.grant(30, { ...o, keepAlive: false });
    expect((await etcd.lease.timeToLive(lease.id, o)).ttl).toBeGreaterThan(0);
    expect(await etcd.lease.leases(o)).toContain(lease.id);
    expect(await etcd.lease.keepAliveOnce(lease.id, o)).toBe(30);
    await etcd.lease.revoke(lease.id, o);
    await etcd.delete("m/t", o);
    await etcd.compact(put.revision, o);
    expect(await etcd.memberList(o)).toHaveLength(1);
    expect((await etcd.status(o)).revision).toBeGreaterThan(0n);
    expect(await etcd.maintenance.alarms(o)).toEqual([]);
    expect(await etcd.auth.users.list(o)).toEqual(["root"]);

    const sent = [...tap.calls, ...tap.streams];
    const withMetadata = sent.filter((c) => c.header.get("x-request-id") === "req-1");
    expect(new Set(withMetadata.map((c) => c.method))).toEqual(
      new Set([
        "Put",
        "Range",
        "Txn",
        "LeaseGrant",
        "LeaseTimeToLive",
        "LeaseLeases",
        "LeaseKeepAlive",
        "LeaseRevoke",
        "DeleteRange",
        "Compact",
        "MemberList",
        "Status",
        "Alarm",
        "UserList",
      ]),
    );
    // Every call but the first carried it; the first carried nothing of it.
    expect(withMetadata).toHaveLength(sent.length - 1);
    expect(sent[0]!.header.get("authorization")).toBeNull();
    expect(withMetadata.every((c) => c.header.get("authorization") === token)).toBe(true);
  });

  it("goes beside the client's own token and hasleader", async () => {
    const tap = new CallTap();
    const etcd = tap.client({ endpoints: cluster.endpoints, auth: { username: "root", password: ROOT_PW } });
    clients.push(etcd);
    await etcd.put("m/own", "v", { metadata: { "x-request-id": "req-2" } });
    const put = tap.of("Put")[0]!;
    expect(put.header.get("x-request-id")).toBe("req-2");
    expect(put.header.get("hasleader")).toBe("true");
    expect(put.header.get("token")).toBeTruthy();
    expect(tap.of("Authenticate")[0]!.header.get("x-request-id")).toBeNull();
  });

  it("refuses what the client sets itself, and what cannot be a header, before sending anything", async () => {
    const tap = new CallTap();
    const etcd = tap.client({ endpoints: cluster.endpoints, auth: { username: "root", password: ROOT_PW } });
    clients.push(etcd);
    const bad: unknown[] = [
      { token: "t" },
      { Token: "t" },
      { hasleader: "false" },
      { ":path": "/x" },
      { "grpc-timeout": "1S" },
      { "Content-Type": "text/plain" },
      { te: "gzip" },
      { "bad name": "v" },
      { "x-ok": "line\nbreak" },
      { "x-ok": 5 },
      new Headers({ "x-ok": "v" }),
      ["x-ok", "v"],
      null,
    ];
    for (const metadata of bad) {
      const calls = [
        etcd.get("m/k", { metadata: metadata as Record<string, string> }),
        etcd.put("m/k", "v", { metadata: metadata as Record<string, string> }),
        etcd.lease.grant(10, { metadata: metadata as Record<string, string> }),
        etcd.maintenance.alarms({ metadata: metadata as Record<string, string> }),
      ];
      for (const call of calls) {
        const err = await call.catch((e: unknown) => e);
        expect(err, JSON.stringify(metadata)).toBeInstanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).field).toBe("metadata");
      }
    }
    expect(tap.calls).toHaveLength(0);
  });
});

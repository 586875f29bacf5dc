import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Etcd, type EtcdOptions, LeaseLostError, UnavailableError } from "../../src/client/index.js";
import { register } from "../../src/discovery/index.js";
import { type EtcdCluster, FaultProxy, startEtcd } from "../../src/testing/index.js";
import { collect } from "../support/collect.js";
import { DiagnosticsRecorder } from "../support/diagnostics.js";
import { enableAuth } from "../support/etcdctl.js";
import { until, within } from "../support/wait.js";

/**
 * The diagnostics channels against real etcd (auth on, username/password): what a subscriber sees of a
 * failover, a re-authentication, a stream resume, a lease loss, a registration loss and a failed
 * endpoint sync. One member, reached directly and through a FaultProxy; the proxy is the first endpoint,
 * so cutting it is a dead member as far as the client can tell.
 */
const ROOT_PW = "root-Diag-pw-1";

let cluster: EtcdCluster;
let proxy: FaultProxy;
let recorder: DiagnosticsRecorder | undefined;
const clients: Etcd[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  await enableAuth(cluster.endpoint, { rootPassword: ROOT_PW });
  proxy = await FaultProxy.start(cluster.endpoint);
});

afterEach(() => {
  recorder?.close();
  recorder = undefined;
  proxy.heal();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await proxy?.close();
  await cluster?.close();
});

function client(options: Partial<EtcdOptions> = {}): Etcd {
  const c = new Etcd({
    endpoints: [proxy.url, cluster.endpoint],
    auth: { username: "root", password: ROOT_PW },
    retry: { initialBackoffMs: 20, maxBackoffMs: 200 },
    streams: { backoff: { initialMs: 20, maxMs: 200 } },
    ...options,
  });
  clients.push(c);
  return c;
}

function record(): DiagnosticsRecorder {
  recorder = new DiagnosticsRecorder();
  return recorder;
}

describe("diagnostics channels", { timeout: 60_000 }, () => {
  it("a failover: the failed attempt, the endpoint marked failed with the next one, the retry that succeeds", async () => {
    const etcd = client();
    await etcd.put("d/failover", "v");
    const rec = record();
    proxy.refuse();
    proxy.cut();
    expect((await within(etcd.get("d/failover"), "the read after the cut"))?.text()).toBe("v");

    const seen = rec.events
      .filter((e) => e.channel !== "etcd-ts:stream:open" && e.channel !== "etcd-ts:stream:close")
      .map((e) => ({ channel: e.channel, ...e.snapshot }));
    expect(seen).toMatchObject([
      {
        channel: "etcd-ts:call:start",
        method: "etcdserverpb.KV/Range",
        service: "etcdserverpb.KV",
        rpcMethod: "Range",
        endpoint: proxy.url,
        attempt: 1,
        retryReason: undefined,
      },
      { channel: "etcd-ts:call:error", endpoint: proxy.url, attempt: 1, error: expect.any(UnavailableError) },
      { channel: "etcd-ts:endpoint:failed", endpoint: proxy.url, next: cluster.endpoint },
      {
        channel: "etcd-ts:call:start",
        method: "etcdserverpb.KV/Range",
        endpoint: cluster.endpoint,
        attempt: 2,
        retryReason: expect.stringContaining(proxy.url),
      },
      { channel: "etcd-ts:call:end", endpoint: cluster.endpoint, attempt: 2 },
    ]);
    expect(seen).toHaveLength(5);
    // One object per attempt, from its start to its end or error.
    const [start1, error1] = rec.events;
    expect(error1!.payload).toBe(start1!.payload);
  });

  it("a re-authentication: the first token, then a refresh after the member restarted (its tokens void)", async () => {
    const etcd = client({ endpoints: [cluster.endpoint] });
    const rec = record();
    await etcd.put("d/auth", "1");
    expect(rec.of("etcd-ts:auth:token")).toEqual([
      { endpoint: cluster.endpoint, source: "password", reason: "initial" },
    ]);
    await cluster.members[0]!.restart();
    await within(etcd.put("d/auth", "2"), "the put after the restart");
    expect(rec.of("etcd-ts:auth:token")).toEqual([
      { endpoint: cluster.endpoint, source: "password", reason: "initial" },
      { endpoint: cluster.endpoint, source: "password", reason: "refresh" },
    ]);
    expect(rec.of("etcd-ts:auth:error")).toEqual([]);
  });

  it("a stream resume: the watch stream closes as failed, reopens on the next endpoint, the watch resumes after its last event", async () => {
    const etcd = client();
    const watch = etcd.watch("d/resume/");
    const events = collect(watch);
    await watch.created;
    const first = await etcd.put("d/resume/", "1");
    await until("the first event", () => events.keys.length === 1);
    const rec = record();
    proxy.refuse();
    proxy.cut();
    await until("the watch to resume", () => rec.of("etcd-ts:watch:resume").length > 0);
    await etcd.put("d/resume/", "2");
    await until("the event after the resume", () => events.keys.length === 2);

    const watchStreams = rec.events.filter(
      (e) => e.channel.startsWith("etcd-ts:stream:") && e.snapshot.method === "etcdserverpb.Watch/Watch",
    );
    expect(watchStreams[0]).toMatchObject({
      channel: "etcd-ts:stream:close",
      snapshot: { endpoint: proxy.url, opened: true, reason: "failed", error: expect.any(Error) },
    });
    expect(watchStreams.at(-1)).toMatchObject({
      channel: "etcd-ts:stream:open",
      snapshot: { endpoint: cluster.endpoint, opened: true },
    });
    expect(rec.of("etcd-ts:endpoint:failed")[0]).toMatchObject({
      endpoint: proxy.url,
      next: cluster.endpoint,
    });
    expect(rec.of("etcd-ts:watch:resume")).toEqual([
      { endpoint: cluster.endpoint, revision: first.revision + 1n, watcher: watch },
    ]);
    expect(events.keys).toEqual(["d/resume/", "d/resume/"]);
    await watch.close();
  });

  it("a lease loss: the lease revoked elsewhere ends with etcd-ts:lease:lost", async () => {
    const etcd = client({ endpoints: [cluster.endpoint] });
    const other = client({ endpoints: [cluster.endpoint] });
    const lease = await etcd.lease.grant(2);
    const rec = record();
    await other.lease.revoke(lease.id);
    const error = await within(lease.closed, "the lease to be lost");
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(rec.of("etcd-ts:lease:lost")).toEqual([{ leaseId: lease.id, reason: "expired", error }]);
  });

  it("a registration lost and re-registered", async () => {
    const etcd = client({ endpoints: [cluster.endpoint] });
    const rec = record();
    const registration = await register(etcd, { service: "diag", addr: "127.0.0.1:9000", ttl: 5 });
    const firstLease = registration.leaseId;
    expect(rec.of("etcd-ts:registration:registered")).toEqual([
      { key: registration.key, leaseId: firstLease, reregistered: false },
    ]);
    await etcd.delete(registration.key);
    await until("the re-registration", () => rec.of("etcd-ts:registration:registered").length === 2);
    expect(rec.of("etcd-ts:registration:lost")).toEqual([
      { key: registration.key, leaseId: firstLease, reason: "key-deleted", error: expect.any(Error) },
    ]);
    expect(rec.of("etcd-ts:registration:registered")[1]).toEqual({
      key: registration.key,
      leaseId: registration.leaseId,
      reregistered: true,
    });
    await registration.close();
  });

  it("a failed endpoint sync is published on etcd-ts:autosync:error (the list is kept)", async () => {
    proxy.refuse();
    proxy.cut();
    const rec = record();
    const etcd = client({ endpoints: [proxy.url], autoSyncIntervalMs: 50, retry: { maxAttempts: 1 } });
    await until("a failed sync", () => rec.of("etcd-ts:autosync:error").length > 0);
    expect(rec.of("etcd-ts:autosync:error")[0]).toEqual({
      endpoints: [proxy.url],
      error: expect.any(UnavailableError),
    });
    expect(etcd.endpoints).toEqual([proxy.url]);
  });
});

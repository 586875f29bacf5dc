/**
 * The program of the test page (test/web/browser.test.ts), bundled for the browser by esbuild from
 * etcd-ts/web's source and served from localhost. It puts its functions on `globalThis.etcdPage` for the
 * test to call, and reports what happens while they run through `globalThis.etcdReport` (a function the
 * test exposes to the page). Values cross as JSON: bigints as strings.
 */
import {
  compare,
  Etcd,
  type EtcdOptions,
  LeaseLostError,
  op,
  type WatchBatch,
} from "../../../src/web/index.js";

/** One thing the page reports while a function runs. */
export type PageReport = { readonly type: string; readonly message?: string } & Readonly<
  Record<string, unknown>
>;

/** Where the page's clients go, and as whom (no credentials: auth off). */
export interface Connection {
  /** The gateway URL (the test's fault proxy in front of etcd). */
  endpoint: string;
  username?: string;
  password?: string;
}

/** One watch event as the history checker reads it (the revision as a string). */
export interface PageEvent {
  revision: string;
  key: string;
  type: "put" | "delete";
}

/** The page's functions, called by the test. */
export interface PageApi {
  /**
   * One raw gateway call with `fetch` (`/v3/kv/range` of `key`, no credentials): what CORS allows the
   * page's origin. Resolves with the HTTP status, or the error's name and message when the browser
   * refused to let the page read the answer.
   */
  corsProbe(arg: { endpoint: string; key: string }): Promise<{ status?: number; error?: string }>;
  /** Opens the page's client (`new Etcd` of etcd-ts/web) to `endpoint` as `username`. */
  connect(arg: Connection): Promise<void>;
  /** Puts, gets, ranges and deletes under `prefix`. */
  kv(arg: { prefix: string }): Promise<{
    a: string | undefined;
    b: number[];
    keys: string[];
    deleted: string;
    gone: boolean;
  }>;
  /** A create-if-absent txn twice, then a compare-and-swap that wins and one that loses. */
  txn(arg: { prefix: string }): Promise<{
    created: boolean;
    again: boolean;
    cas: boolean;
    value: string | undefined;
    stale: boolean;
  }>;
  /**
   * Watches `prefix` from `from` (resolves once the watch is created). Reports `watch-batch` (`last`: the
   * revision of its last event) for each batch with events, and `watch-done` with every event delivered
   * once `<prefix>end` arrives.
   */
  watch(arg: { prefix: string; from: string }): Promise<void>;
  /**
   * Grants a lease of `ttl` s, puts `<prefix>k` on it and keeps it alive: reports `lease-granted`, then
   * 1.5 s past the TTL `lease-kept`, then `lease-lost` once the lease is lost (the test revokes it).
   */
  lease(arg: { prefix: string; ttl: number }): Promise<void>;
  /**
   * A client of its own that idles past the token's TTL with a watch open; then a put, a get and a new
   * watch must work (the token refreshed once). Resolves with what they saw.
   */
  /**
   * Opens a watch of each of `keys` at once and waits until etcd created them all; then reports each
   * event (`key-event`).
   */
  watchKeys(arg: { keys: string[] }): Promise<void>;
  authExpiry(arg: Connection & { prefix: string; tokenTtlSeconds: number }): Promise<{
    value: string | undefined;
    first: string[];
    second: string[];
  }>;
  /** Closes the page's client. */
  close(arg: Record<string, never>): Promise<void>;
}

declare global {
  var etcdPage: PageApi | undefined;
  var etcdReport: ((report: PageReport) => void) | undefined;
}

function report(type: string, fields: Record<string, unknown> = {}): void {
  const json = JSON.parse(
    JSON.stringify({ type, ...fields }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
  ) as PageReport;
  globalThis.etcdReport?.(json);
}

/** Reports a failure of work the test does not await (a watch loop, a lease's life). */
function reportFailure(err: unknown): void {
  report("error", {
    message: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err),
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

const options = (c: Connection): EtcdOptions => ({
  endpoints: [c.endpoint],
  ...(c.username === undefined ? {} : { auth: { username: c.username, password: c.password ?? "" } }),
});

let client: Etcd | undefined;
function etcd(): Etcd {
  if (!client) throw new Error("connect() first");
  return client;
}

function eventsOf(batch: WatchBatch): PageEvent[] {
  return batch.events.map((e) => ({
    revision: e.kv.modRevision.toString(),
    key: e.kv.keyText(),
    type: e.type,
  }));
}

const api: PageApi = {
  async corsProbe({ endpoint, key }) {
    try {
      const res = await fetch(`${endpoint}/v3/kv/range`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ key: b64(key) }),
      });
      await res.text();
      return { status: res.status };
    } catch (err) {
      return { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  },

  async connect(c) {
    await client?.close();
    client = new Etcd(options(c));
  },

  async kv({ prefix: p }) {
    await etcd().put(`${p}kv/a`, "1");
    await etcd().put(`${p}kv/b`, new Uint8Array([0, 255]));
    const a = await etcd().get(`${p}kv/a`);
    const b = await etcd().get(`${p}kv/b`);
    const range = await etcd().range({ prefix: `${p}kv/` });
    const { deleted } = await etcd().delete({ prefix: `${p}kv/` });
    const after = await etcd().get(`${p}kv/a`);
    return {
      a: a?.text(),
      b: [...(b?.value ?? [])],
      keys: range.kvs.map((k) => k.keyText()),
      deleted: deleted.toString(),
      gone: after === undefined,
    };
  },

  async txn({ prefix: p }) {
    const key = `${p}txn/counter`;
    const createIfAbsent = () =>
      etcd()
        .txn()
        .if(compare.version(key, "=", 0))
        .onSuccess(op.put(key, "0"))
        .onFailure(op.get(key))
        .commit();
    const created = await createIfAbsent();
    const again = await createIfAbsent();
    const current = await etcd().get(key);
    const cas = await etcd()
      .txn()
      .if(compare.modRevision(key, "=", current?.modRevision ?? 0n))
      .onSuccess(op.put(key, "1"), op.get(key))
      .commit();
    const stale = await etcd()
      .txn()
      .if(compare.modRevision(key, "=", current?.modRevision ?? 0n))
      .onSuccess(op.put(key, "2"))
      .commit();
    return {
      created: created.succeeded,
      again: again.succeeded,
      cas: cas.succeeded,
      value: cas.results[1]?.kvs[0]?.text(),
      stale: stale.succeeded,
    };
  },

  async watch({ prefix, from }) {
    const watcher = etcd().watch({ prefix }, { startRevision: BigInt(from) });
    await watcher.created;
    void (async () => {
      const delivered: PageEvent[] = [];
      for await (const batch of watcher) {
        const events = eventsOf(batch);
        delivered.push(...events);
        const last = events.at(-1);
        if (last) report("watch-batch", { last: last.revision });
        if (events.some((e) => e.key === `${prefix}end`)) break;
      }
      watcher.close();
      report("watch-done", { events: delivered });
    })().catch(reportFailure);
  },

  async lease({ prefix, ttl }) {
    const lease = await etcd().lease.grant(ttl);
    await etcd().put(`${prefix}k`, "v", { lease: lease.id });
    report("lease-granted", { id: lease.id, ttl: lease.grantedTtl });
    void (async () => {
      // Only keepalives keep the key past the TTL.
      await sleep(ttl * 1000 + 1_500);
      const kept = await etcd().get(`${prefix}k`);
      report("lease-kept", { id: lease.id, present: kept !== undefined, state: lease.state });
      const err = await lease.closed;
      const gone = await etcd().get(`${prefix}k`);
      report("lease-lost", {
        error: err instanceof LeaseLostError ? err.name : String(err),
        reason: err instanceof LeaseLostError ? err.reason : undefined,
        state: lease.state,
        keyGone: gone === undefined,
      });
      await lease.close();
    })().catch(reportFailure);
  },

  async watchKeys({ keys }) {
    const watchers = keys.map((key) => etcd().watch(key));
    await Promise.all(watchers.map((w) => w.created));
    for (const w of watchers)
      w.on("batch", (batch) => {
        for (const e of batch.events) report("key-event", { key: e.kv.keyText(), value: e.kv.text() });
      });
  },

  async authExpiry(arg) {
    const p = arg.prefix;
    const own = new Etcd(options(arg));
    try {
      const { revision } = await own.put(`${p}a`, "1");
      const first = own.watch({ prefix: p }, { startRevision: revision + 1n });
      await first.created;
      // Nothing uses the token now; etcd drops it TTL s after its last use, on a 1 s sweep.
      await sleep((arg.tokenTtlSeconds + 1.5) * 1000);
      const put = await own.put(`${p}b`, "2");
      const second = own.watch({ prefix: p }, { startRevision: put.revision });
      await second.created;
      const read = await own.get(`${p}b`);
      const untilB = async (w: typeof first) => {
        const keys: string[] = [];
        for await (const batch of w) {
          keys.push(...batch.events.map((e) => e.kv.keyText()));
          if (keys.includes(`${p}b`)) break;
        }
        w.close();
        return keys;
      };
      const [firstKeys, secondKeys] = await Promise.all([untilB(first), untilB(second)]);
      return { value: read?.text(), first: firstKeys, second: secondKeys };
    } finally {
      await own.close();
    }
  },

  async close() {
    await client?.close();
    client = undefined;
  },
};

globalThis.etcdPage = api;

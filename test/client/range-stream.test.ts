// Large reads on etcd 3.7 (RangeStream) and 3.6 (paging): iterate() and the watch cache give the same keys
// either way, and each server is read the way its version allows, as its own metrics show. Both servers
// get the same writes in the same order, so even the revisions agree.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  Etcd,
  type IterateOptions,
  type KeyRange,
  type KeyValue,
  op,
  type TxnOp,
} from "../../src/client/index.js";
import {
  ETCD_VERSIONS,
  type EtcdCluster,
  FaultProxy,
  findEtcdVersion,
  freePort,
  startEtcd,
} from "../../src/testing/index.js";
import { Child } from "../support/child.js";
import { callsStarted } from "../support/server-metrics.js";
import { until } from "../support/wait.js";

const LINES = ["3.6", "3.7"] as const;
type Line = (typeof LINES)[number];

/** Keys under `rs/`: enough 800-byte values for 2 MB, more than etcd's 1.5 MiB request limit. */
const KEYS = 2_500;
const VALUE_BYTES = 800;
const PAGE = 100;

interface Server {
  cluster: EtcdCluster;
  url: string;
  etcd: Etcd;
  /** RangeStream calls this client opened (seen by an interceptor: the public `interceptors` option). */
  streamsOpened: () => number;
}

const servers = {} as Record<Line, Server>;
/** The revision right after the first load, before the overwrites and deletes. */
let loadedAt = 0n;

function countingStreams(): { interceptor: Interceptor; count: () => number } {
  let count = 0;
  return {
    interceptor: (next) => (req) => {
      if (req.method.name === "RangeStream") count++;
      return next(req);
    },
    count: () => count,
  };
}

const key = (i: number) => `rs/${String(i).padStart(5, "0")}`;
const value = (i: number, round: number) => `${round}:${i}:`.padEnd(VALUE_BYTES, "v");

/** The same writes on every server, in the same order: one txn of up to 125 puts at a time. */
async function write(etcd: Etcd, ops: TxnOp[]): Promise<bigint> {
  let revision = 0n;
  for (let i = 0; i < ops.length; i += 125) {
    const res = await etcd
      .txn()
      .onSuccess(...ops.slice(i, i + 125))
      .commit();
    revision = res.revision;
  }
  return revision;
}

beforeAll(async () => {
  await Promise.all(
    LINES.map(async (line) => {
      const cluster = await startEtcd({ version: line });
      const streams = countingStreams();
      const etcd = new Etcd({ endpoints: cluster.endpoints, interceptors: [streams.interceptor] });
      servers[line] = { cluster, url: cluster.endpoints[0]!, etcd, streamsOpened: streams.count };
    }),
  );
  for (const line of LINES) {
    const { etcd } = servers[line];
    const load = Array.from({ length: KEYS }, (_, i) => op.put(key(i), value(i, 0)));
    // Neighbours that no read of rs/ may return, and keys with 0xff bytes inside it.
    load.push(
      op.put("rs", "outside"),
      op.put("rs0", "outside"),
      op.put("rr/z", "outside"),
      op.put("rt", "x"),
    );
    load.push(
      op.put(Uint8Array.of(0x72, 0x73, 0x2f, 0xff), "ff"),
      op.put(Uint8Array.of(0x72, 0x73, 0x2f, 0xff, 0xff), "ffff"),
    );
    const revision = await write(etcd, load);
    if (line === "3.6") loadedAt = revision;
    else expect(revision).toBe(loadedAt);
    // History after the load: overwrites and deletes that a read at `loadedAt` must not see.
    await write(
      etcd,
      Array.from({ length: 300 }, (_, i) => op.put(key(i * 7), value(i * 7, 1))),
    );
    for (let i = 0; i < KEYS; i += 11) await etcd.delete(key(i));
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(
    LINES.map(async (line) => {
      await servers[line]?.etcd.close();
      await servers[line]?.cluster.close();
    }),
  );
});

/** What a test compares: every field of every key read. */
function plain(kvs: readonly KeyValue[]) {
  return kvs.map((kv) => ({
    key: Buffer.from(kv.key).toString("hex"),
    value: Buffer.from(kv.value).toString(),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  }));
}

async function iterateAll(etcd: Etcd, range: KeyRange, options: IterateOptions) {
  const kvs: KeyValue[] = [];
  for await (const kv of etcd.iterate(range, options)) kvs.push(kv);
  return kvs;
}

/** How many Range and RangeStream calls the member at `url` has started (3.6 has no RangeStream). */
async function rangeCalls(line: Line): Promise<{ range: number; stream: number }> {
  const url = servers[line].url;
  const range = await callsStarted(url, "etcdserverpb.KV/Range");
  const stream = line === "3.7" ? await callsStarted(url, "etcdserverpb.KV/RangeStream") : 0;
  return { range, stream };
}

const cases: Array<{ name: string; range: KeyRange; options: IterateOptions }> = [
  { name: "a prefix, several pages", range: { prefix: "rs/" }, options: { pageSize: PAGE } },
  { name: "the default page size (1000)", range: { prefix: "rs/" }, options: {} },
  { name: "a limit over several pages", range: { prefix: "rs/" }, options: { pageSize: PAGE, limit: 1_234 } },
  { name: "a limit inside the first page", range: { prefix: "rs/" }, options: { pageSize: PAGE, limit: 42 } },
  { name: "keys only", range: { prefix: "rs/" }, options: { pageSize: PAGE, keysOnly: true } },
  { name: "an older revision", range: { prefix: "rs/" }, options: { pageSize: PAGE, revision: -1 } },
  { name: "serializable", range: { prefix: "rs/" }, options: { pageSize: PAGE, serializable: true } },
  { name: "[key, end)", range: { key: "rs/00100", end: "rs/02000" }, options: { pageSize: PAGE } },
  { name: "fromKey, past the prefix", range: { fromKey: "rs/01000" }, options: { pageSize: PAGE } },
  { name: "an empty range", range: { prefix: "none/" }, options: { pageSize: PAGE } },
];

describe("iterate(): RangeStream on 3.7, pages on 3.6, the same keys", () => {
  test.each(cases)("$name", async ({ range, options }) => {
    const opts = options.revision === -1 ? { ...options, revision: loadedAt } : options;
    // The reference: one unary Range of the whole range on 3.6, sorted by key.
    const reference = await servers["3.6"].etcd.range(range, {
      sort: { target: "key", order: "ascend" },
      limit: opts.limit,
      revision: opts.revision,
      keysOnly: opts.keysOnly,
    });
    const results = {} as Record<Line, ReturnType<typeof plain>>;
    for (const line of LINES) {
      const before = await rangeCalls(line);
      results[line] = plain(await iterateAll(servers[line].etcd, range, opts));
      const after = await rangeCalls(line);
      const pageSize = opts.pageSize ?? 1000;
      const total = reference.kvs.length;
      if (line === "3.7") {
        // One first page; the rest, if any, as one stream.
        expect(after.range - before.range, line).toBe(1);
        expect(after.stream - before.stream, line).toBe(total > pageSize ? 1 : 0);
      } else {
        expect(after.range - before.range, line).toBe(Math.max(1, Math.ceil(total / pageSize)));
      }
    }
    expect(results["3.6"]).toEqual(plain(reference.kvs));
    expect(results["3.7"]).toEqual(results["3.6"]);
    if (opts.keysOnly) expect(results["3.7"].every((kv) => kv.value === "")).toBe(true);
  });

  test("a read larger than 1.5 MiB comes whole, in key order, through the stream on 3.7", async () => {
    const before = await rangeCalls("3.7");
    const kvs = await iterateAll(servers["3.7"].etcd, { prefix: "rs/" }, { pageSize: PAGE });
    const after = await rangeCalls("3.7");
    const bytes = kvs.reduce((n, kv) => n + kv.key.length + kv.value.length, 0);
    expect(bytes).toBeGreaterThan(1.5 * 1024 * 1024);
    expect(after.stream - before.stream).toBe(1);
    const keys = kvs.map((kv) => Buffer.from(kv.key));
    for (let i = 1; i < keys.length; i++) expect(Buffer.compare(keys[i - 1]!, keys[i]!)).toBe(-1);
    expect(kvs.map((kv) => kv.keyText()).filter((k) => !k.startsWith("rs/"))).toEqual([]);
  });

  test("a namespace view streams too, and strips its prefix from every chunk", async () => {
    const results = {} as Record<Line, ReturnType<typeof plain>>;
    for (const line of LINES) {
      const before = await rangeCalls(line);
      results[line] = plain(
        await iterateAll(servers[line].etcd.namespace("rs/"), { prefix: "" }, { pageSize: PAGE }),
      );
      if (line === "3.7") expect((await rangeCalls(line)).stream - before.stream).toBe(1);
    }
    expect(results["3.7"]).toEqual(results["3.6"]);
    expect(results["3.7"].length).toBeGreaterThan(PAGE);
    expect(results["3.7"].some((kv) => Buffer.from(kv.key, "hex").toString().startsWith("rs/"))).toBe(false);
  });

  test("a reader idle for longer than timeoutMs lets the stream go; reading on resumes after its last key", async () => {
    const timeoutMs = 3_000;
    await using etcd = new Etcd({ endpoints: servers["3.7"].url, timeoutMs });
    const expected = plain(await iterateAll(servers["3.7"].etcd, { prefix: "rs/" }, { pageSize: PAGE }));
    const before = await rangeCalls("3.7");
    const kvs: KeyValue[] = [];
    for await (const kv of etcd.iterate({ prefix: "rs/" }, { pageSize: PAGE })) {
      kvs.push(kv);
      // Past the first page, in the stream's first chunk: pause longer than the stream may wait. (Its
      // timer was set before this one, so it has fired when this one does: no race.)
      if (kvs.length === PAGE + 1) await new Promise((resolve) => setTimeout(resolve, timeoutMs + 200));
    }
    expect(plain(kvs)).toEqual(expected);
    expect((await rangeCalls("3.7")).stream - before.stream).toBe(2);
  });

  test("an iterator dropped in the middle of a stream does not keep the process alive", async () => {
    // Small chunks (the server sizes them by --max-request-bytes): more than the client buffers and
    // HTTP/2 flow control lets through, so the dropped stream stays open until it is let go.
    await using small = await startEtcd({ version: "3.7", args: ["--max-request-bytes=4096"] });
    await using etcd = new Etcd({ endpoints: small.endpoints });
    for (let i = 0; i < 3_000; i += 100)
      await Promise.all(Array.from({ length: 100 }, (_, j) => etcd.put(key(i + j), value(i + j, 0))));
    const before = await callsStarted(small.endpoint, "etcdserverpb.KV/RangeStream");
    const child = Child.start("abandoned-iterate.ts", [small.endpoint, "rs/", String(PAGE), "2000"]);
    try {
      await child.until("the child read into the stream", () => child.eventsOf("read").length > 0);
      expect(child.eventsOf("read")[0]).toMatchObject({ keys: PAGE + 1 });
      expect(await child.waitForExit("the child exits by itself", 30_000)).toEqual({ code: 0, signal: null });
    } finally {
      await child.kill();
    }
    expect((await callsStarted(small.endpoint, "etcdserverpb.KV/RangeStream")) - before).toBe(1);
  }, 60_000);

  test("a consumer that stops early ends the stream; the client reads on afterwards", async () => {
    const { etcd } = servers["3.7"];
    let seen = 0;
    for await (const _ of etcd.iterate({ prefix: "rs/" }, { pageSize: PAGE }))
      if (++seen === PAGE + 10) break;
    expect(seen).toBe(PAGE + 10);
    expect((await iterateAll(etcd, { prefix: "rs/" }, { pageSize: PAGE })).length).toBeGreaterThan(2 * PAGE);
  });
});

describe("the watch cache loads its range the same way", () => {
  test("RangeStream on 3.7, pages on 3.6, the same content at the same revision", async () => {
    const content = {} as Record<Line, { revision: bigint; kvs: ReturnType<typeof plain> }>;
    for (const line of LINES) {
      const before = await rangeCalls(line);
      await using cache = servers[line].etcd.cache({ prefix: "rs/" }, { pageSize: PAGE });
      await cache.ready;
      const after = await rangeCalls(line);
      if (line === "3.7") {
        expect(after.range - before.range).toBe(1);
        expect(after.stream - before.stream).toBe(1);
      } else expect(after.range - before.range).toBeGreaterThan(10);
      content[line] = { revision: cache.revision, kvs: plain(cache.range({ prefix: "rs/" }).kvs) };
    }
    expect(content["3.7"]).toEqual(content["3.6"]);
    const now = await servers["3.6"].etcd.range({ prefix: "rs/" });
    expect(content["3.6"].kvs).toEqual(plain(now.kvs));
  });
});

describe("the server version decides, per connection", () => {
  test("one endpoint that moves from a 3.6 to a 3.7 member and back: pages, stream, pages", async () => {
    await using proxy = await FaultProxy.start(servers["3.6"].url);
    const streams = countingStreams();
    await using etcd = new Etcd({ endpoints: proxy.url, interceptors: [streams.interceptor] });
    const read = () => iterateAll(etcd, { prefix: "rs/" }, { pageSize: PAGE });
    const onOld = plain(await read());
    expect(streams.count()).toBe(0);
    // Another member behind the same address: the version is asked again on the new connection.
    proxy.retarget(servers["3.7"].url);
    proxy.cut();
    const before = await rangeCalls("3.7");
    expect(plain(await read())).toEqual(onOld);
    expect((await rangeCalls("3.7")).stream - before.stream).toBe(1);
    expect(streams.count()).toBe(1);
    proxy.retarget(servers["3.6"].url);
    proxy.cut();
    expect(plain(await read())).toEqual(onOld);
    // 3.6 was never sent a RangeStream: the client knew its version.
    expect(streams.count()).toBe(1);
  });

  test("a stream cut in the middle resumes after its last key at the same revision", async () => {
    await using proxy = await FaultProxy.start(servers["3.7"].url);
    await using etcd = new Etcd({ endpoints: proxy.url });
    const expected = plain(await iterateAll(servers["3.7"].etcd, { prefix: "rs/" }, { pageSize: PAGE }));
    // Learn the version first, so that the cut falls inside the stream's 2 MB.
    await etcd.status();
    const before = await rangeCalls("3.7");
    proxy.cutAfter(1_000_000);
    expect(plain(await iterateAll(etcd, { prefix: "rs/" }, { pageSize: PAGE }))).toEqual(expected);
    // The first stream broke; a second one read the rest.
    expect((await rangeCalls("3.7")).stream - before.stream).toBe(2);
  });

  test("behind etcd's gRPC proxy (Status says 3.7, RangeStream is UNIMPLEMENTED): one try, then pages", async () => {
    const server = servers["3.7"];
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), "etcd-ts-grpc-proxy-"));
    const child: ChildProcess = spawn(
      findEtcdVersion("3.7"),
      [
        "grpc-proxy",
        "start",
        `--endpoints=${new URL(server.url).host}`,
        `--listen-addr=127.0.0.1:${port}`,
        `--data-dir=${dir}`,
      ],
      { stdio: "ignore" },
    );
    try {
      const streams = countingStreams();
      await using etcd = new Etcd({
        endpoints: `http://127.0.0.1:${port}`,
        interceptors: [streams.interceptor],
      });
      await until(
        "the gRPC proxy answers",
        () =>
          etcd.status().then(
            () => true,
            () => false,
          ),
        20_000,
        100,
      );
      expect((await etcd.status()).version).toBe(ETCD_VERSIONS["3.7"]);
      const expected = plain(await iterateAll(server.etcd, { prefix: "rs/" }, { pageSize: PAGE }));
      expect(plain(await iterateAll(etcd, { prefix: "rs/" }, { pageSize: PAGE }))).toEqual(expected);
      expect(plain(await iterateAll(etcd, { prefix: "rs/" }, { pageSize: PAGE }))).toEqual(expected);
      expect(streams.count()).toBe(1);
    } finally {
      child.kill("SIGKILL");
      await new Promise((resolve) =>
        child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve),
      );
      await rm(dir, { recursive: true, force: true });
    }
  });
});

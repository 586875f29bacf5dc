import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Code,
  CompactedError,
  compare,
  Etcd,
  FutureRevisionError,
  InvalidArgumentError,
  InvalidJsonError,
  KeyNotFoundError,
  LeaseNotFoundError,
  op,
  RequestTooLargeError,
  txn,
} from "../../src/client/index.js";
import { type SharedCluster, useSharedEtcd } from "../support/etcd-fixture.js";

const env = useSharedEtcd();
let cluster: SharedCluster;
let etcd: Etcd;

beforeAll(() => {
  cluster = env.cluster;
  etcd = env.client();
});

afterAll(async () => {
  await etcd?.close();
});

const enc = (s: string) => new TextEncoder().encode(s);

describe("KV", () => {
  it("kv.json() on a value that is not JSON throws InvalidJsonError naming the key", async () => {
    await etcd.put("kv/not-json", "plain text");
    await etcd.put(enc("kv/not-utf8"), Uint8Array.of(0x22, 0xff, 0x22));
    for (const key of ["kv/not-json", "kv/not-utf8"]) {
      const kv = (await etcd.get(key))!;
      let error: unknown;
      try {
        kv.json();
      } catch (err) {
        error = err;
      }
      expect(error, key).toBeInstanceOf(InvalidJsonError);
      expect((error as InvalidJsonError).key).toBe(key);
      expect((error as InvalidJsonError).code).toBe(Code.FailedPrecondition);
      expect((error as InvalidJsonError).message).toContain(JSON.stringify(key));
    }
  });

  it("puts and gets strings, bytes and JSON", async () => {
    const put = await etcd.put("kv/a", "alpha");
    expect(typeof put.revision).toBe("bigint");
    const kv = await etcd.get("kv/a");
    expect(kv?.text()).toBe("alpha");
    expect(kv?.keyText()).toBe("kv/a");
    expect(kv?.version).toBe(1n);
    expect(kv?.modRevision).toBe(put.revision);
    await etcd.put(enc("kv/bin"), Uint8Array.of(0, 255, 1));
    expect((await etcd.get("kv/bin"))?.value).toEqual(Uint8Array.of(0, 255, 1));
    await etcd.put("kv/json", JSON.stringify({ n: 1 }));
    expect((await etcd.get("kv/json"))?.json<{ n: number }>()).toEqual({ n: 1 });
    expect(await etcd.get("kv/missing")).toBeUndefined();
  });

  it("returns prevKv on put and delete", async () => {
    await etcd.put("kv/p", "1");
    const put = await etcd.put("kv/p", "2", { prevKv: true });
    expect(put.prevKv?.text()).toBe("1");
    const del = await etcd.delete("kv/p", { prevKv: true });
    expect(del.deleted).toBe(1n);
    expect(del.prevKvs.map((k) => k.text())).toEqual(["2"]);
  });

  it("reads ranges by prefix, from key and [key, end) with limit, sort and filters", async () => {
    for (const k of ["r/a", "r/b", "r/c", "r/d", "s/x"]) await etcd.put(k, `v-${k}`);
    const all = await etcd.range({ prefix: "r/" });
    expect(all.kvs.map((k) => k.keyText())).toEqual(["r/a", "r/b", "r/c", "r/d"]);
    expect(all.count).toBe(4n);
    const limited = await etcd.range(
      { prefix: "r/" },
      { limit: 2, sort: { target: "key", order: "descend" } },
    );
    expect(limited.kvs.map((k) => k.keyText())).toEqual(["r/d", "r/c"]);
    expect(limited.more).toBe(true);
    const between = await etcd.range({ key: "r/b", end: "r/d" });
    expect(between.kvs.map((k) => k.keyText())).toEqual(["r/b", "r/c"]);
    const from = await etcd.range({ fromKey: "r/d" });
    expect(from.kvs.map((k) => k.keyText())).toEqual(["r/d", "s/x"]);
    const count = await etcd.range({ prefix: "r/" }, { countOnly: true });
    expect(count.kvs).toEqual([]);
    expect(count.count).toBe(4n);
    const keys = await etcd.range({ prefix: "r/" }, { keysOnly: true, serializable: true });
    expect(keys.kvs[0]!.value.length).toBe(0);
    const created = (await etcd.get("r/c"))!.createRevision;
    const newer = await etcd.range({ prefix: "r/" }, { minCreateRevision: created });
    expect(newer.kvs.map((k) => k.keyText())).toEqual(["r/c", "r/d"]);
    const older = await etcd.range({ prefix: "r/" }, { maxModRevision: created - 1n });
    expect(older.kvs.map((k) => k.keyText())).toEqual(["r/a", "r/b"]);
    const everything = await etcd.range({ prefix: "" }, { countOnly: true });
    expect(everything.count).toBeGreaterThanOrEqual(5n);
  });

  it("handles 0xff bytes in prefixes", async () => {
    const p = Uint8Array.of(0x70, 0xff);
    await etcd.put(Uint8Array.of(0x70, 0xff, 0x01), "in");
    await etcd.put(Uint8Array.of(0x70, 0xff, 0xff), "in");
    await etcd.put(Uint8Array.of(0x71), "out");
    const res = await etcd.range({ prefix: p });
    expect(res.kvs.map((k) => k.text())).toEqual(["in", "in"]);
  });

  it("reads at a revision and maps compacted / future revisions to typed errors", async () => {
    const first = await etcd.put("rev/k", "old");
    await etcd.put("rev/k", "new");
    expect((await etcd.get("rev/k", { revision: first.revision }))?.text()).toBe("old");
    await expect(etcd.get("rev/k", { revision: first.revision + 1_000_000n })).rejects.toBeInstanceOf(
      FutureRevisionError,
    );
    const latest = await etcd.put("rev/k", "newest");
    await etcd.compact(latest.revision);
    const err = await etcd.get("rev/k", { revision: first.revision }).catch((e) => e);
    expect(err).toBeInstanceOf(CompactedError);
    expect(err.endpoint).toBe(cluster.endpoint);
    expect(err.code).toBe(11);
  });

  it("ignoreValue and ignoreLease keep the stored ones, and fail on a missing key", async () => {
    await etcd.put("ig/k", "keep");
    await etcd.put("ig/k", "", { ignoreValue: true });
    expect((await etcd.get("ig/k"))?.text()).toBe("keep");
    await etcd.put("ig/k", "changed", { ignoreLease: true });
    expect((await etcd.get("ig/k"))?.text()).toBe("changed");
    await expect(etcd.put("ig/missing", "", { ignoreValue: true })).rejects.toBeInstanceOf(KeyNotFoundError);
  });

  it("maps a put on a missing lease to LeaseNotFoundError", async () => {
    const err = await etcd.put("lease/k", "v", { lease: 0x1234_5678n }).catch((e) => e);
    expect(err).toBeInstanceOf(LeaseNotFoundError);
    expect(err.code).toBe(5);
    expect(err.serverMessage).toBe("etcdserver: requested lease not found");
  });

  it("pages through a large range at one revision", async () => {
    const n = 250;
    await Promise.all(
      Array.from({ length: n }, (_, i) => etcd.put(`page/${String(i).padStart(4, "0")}`, `${i}`)),
    );
    const seen: string[] = [];
    let wroteDuring = false;
    for await (const kv of etcd.iterate({ prefix: "page/" }, { pageSize: 40 })) {
      seen.push(kv.keyText());
      if (!wroteDuring) {
        wroteDuring = true;
        // Written after the first page: must not show up, the iteration reads one revision.
        await etcd.put("page/9999", "late");
      }
    }
    expect(seen).toHaveLength(n);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(n);
  });

  it("rejects bad input before sending, naming the field", async () => {
    const field = async (p: Promise<unknown>) => {
      const e = await p.catch((x) => x);
      expect(e).toBeInstanceOf(InvalidArgumentError);
      return (e as InvalidArgumentError).field;
    };
    expect(await field(etcd.put("", "v"))).toBe("key");
    expect(await field(etcd.get(""))).toBe("key");
    expect(await field(etcd.range({ prefix: "a" }, { limit: -1 }))).toBe("limit");
    expect(await field(etcd.range({ prefix: "a" }, { limit: 1.5 }))).toBe("limit");
    expect(await field(etcd.put("k", "v", { lease: -1 }))).toBe("lease");
    expect(await field(etcd.get("k", { timeoutMs: -5 }))).toBe("timeoutMs");
    const big = new Uint8Array(1.5 * 1024 * 1024 + 1);
    const tooBig = await etcd.put("big", big).catch((e) => e);
    expect(tooBig).toBeInstanceOf(RequestTooLargeError);
    expect(tooBig.field).toBe("value");
    expect(tooBig.code).toBe(Code.ResourceExhausted);
    expect(() => new Etcd({ endpoints: [] })).toThrow(InvalidArgumentError);
    expect(() => new Etcd({ endpoints: ["not a url"] })).toThrow(/endpoints/);
    expect(() => new Etcd({ endpoints: ["ftp://127.0.0.1:1"] })).toThrow(/endpoints/);
  });

  it("maps a server-side size refusal to RequestTooLargeError", async () => {
    // The client's own check is disabled here so the server's answer is what we see.
    const loose = new Etcd({ endpoints: cluster.endpoints, maxRequestBytes: 10 * 1024 * 1024 });
    try {
      const err = await loose.put("big", new Uint8Array(2 * 1024 * 1024)).catch((e) => e);
      expect(err).toBeInstanceOf(RequestTooLargeError);
      // The same code as the client's own refusal, though etcd says INVALID_ARGUMENT.
      expect(err.code).toBe(Code.ResourceExhausted);
    } finally {
      await loose.close();
    }
  });

  it("deletes ranges", async () => {
    for (const k of ["d/1", "d/2", "d/3"]) await etcd.put(k, "x");
    expect((await etcd.delete({ prefix: "d/" })).deleted).toBe(3n);
    expect((await etcd.range({ prefix: "d/" })).count).toBe(0n);
  });
});

describe("cluster info", () => {
  it("reports status and members with bigint IDs", async () => {
    const s = await etcd.status();
    expect(s.endpoint).toBe(cluster.endpoint);
    expect(typeof s.memberId).toBe("bigint");
    expect(s.leader).toBe(s.memberId);
    expect(s.version).toMatch(/^3\./);
    const members = await etcd.memberList();
    expect(members.map((m) => m.id)).toEqual([s.memberId]);
    expect(members[0]!.clientUrls).toEqual([cluster.endpoint]);
  });
});

describe("Txn", () => {
  it("runs the success branch with typed results when guards hold", async () => {
    await etcd.put("t/a", "1");
    const res = await etcd
      .txn()
      .if(compare.value("t/a", "=", "1"), compare.version("t/a", ">", 0), compare.lease("t/a", "=", 0))
      .onSuccess(op.put("t/a", "2", { prevKv: true }), op.get("t/a"), op.delete("t/none"))
      .onFailure(op.get("t/a"))
      .commit();
    expect(res.succeeded).toBe(true);
    if (!res.succeeded) throw new Error("unreachable");
    const [put, get, del] = res.results;
    expect(put.prevKv?.text()).toBe("1");
    expect(get.kvs[0]!.text()).toBe("2");
    expect(del.deleted).toBe(0n);
  });

  it("runs the failure branch and nested txns", async () => {
    await etcd.put("t/b", "x");
    const mod = (await etcd.get("t/b"))!.modRevision;
    const res = await etcd
      .txn()
      .if(compare.modRevision("t/b", "!=", mod))
      .onSuccess(op.put("t/b", "wrong"))
      .onFailure(
        op.txn(
          txn()
            .if(compare.createRevision("t/b", "<", mod + 1n))
            .onSuccess(op.put("t/nested", "yes")),
        ),
        op.get({ prefix: "t/" }, { countOnly: true }),
      )
      .commit();
    expect(res.succeeded).toBe(false);
    if (res.succeeded) throw new Error("unreachable");
    const [nested, count] = res.results;
    expect(nested.succeeded).toBe(true);
    // A nested txn's response has an empty header: its results carry the txn's revision all the same.
    expect(nested.revision).toBe(res.revision);
    expect(nested.results[0]?.revision).toBe(res.revision);
    expect(count.count).toBeGreaterThanOrEqual(2n);
    expect((await etcd.get("t/nested"))?.text()).toBe("yes");
    expect((await etcd.get("t/b"))?.text()).toBe("x");
  });

  it("compares over a range: every key must match", async () => {
    await etcd.put("tr/1", "same");
    await etcd.put("tr/2", "same");
    const ok = await etcd
      .txn()
      .if(compare.value({ prefix: "tr/" }, "=", "same"))
      .commit();
    expect(ok.succeeded).toBe(true);
    await etcd.put("tr/3", "other");
    const no = await etcd
      .txn()
      .if(compare.value({ prefix: "tr/" }, "=", "same"))
      .commit();
    expect(no.succeeded).toBe(false);
  });

  it("commits once", async () => {
    const t = etcd.txn().onSuccess(op.put("t/once", "1"));
    await t.commit();
    await expect(t.commit()).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await etcd.get("t/once"))?.version).toBe(1n);
  });
});

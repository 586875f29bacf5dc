// Go's client/v3/leasing (leasing.NewKV, through the Go program of test/interop/go) beside etcd-ts's
// LeasingKv.open(etcd, prefix) on one etcd and one leasing prefix: the same leasing keys and revoke protocol, so
// each one's write revokes the other's ownership first and each sees the other's writes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compare, type Etcd, LeasingKv, op } from "../../src/index.js";
import { DiagnosticsRecorder } from "../support/diagnostics.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { within } from "../support/wait.js";
import { buildGoProgram } from "./go-build.js";
import { GoProgram } from "./go-program.js";

const env = useEtcd();
let etcd: Etcd;
let go: GoProgram;
let lkv: LeasingKv;
const PREFIX = "golease/";

beforeAll(async () => {
  const binary = await buildGoProgram();
  etcd = env.client();
  go = await GoProgram.start(binary, { endpoints: env.cluster.endpoints });
  await go.request("leasing-open", { handle: "go", name: PREFIX, ttl: 5 });
  lkv = await LeasingKv.open(env.client(), PREFIX, { ttl: 5 });
}, 15 * 60_000); // a cold `go build` on a busy 2-core machine; cached afterwards
afterAll(async () => {
  await lkv?.close();
  await go?.request("leasing-close", { handle: "go" }).catch(() => undefined);
  await go?.close();
});

interface GoGet {
  found: boolean;
  value?: string;
  modRevision?: number;
}

const goGet = (key: string) => go.request<GoGet>("leasing-get", { handle: "go", key });

/** Unary calls etcd-ts makes while `work` runs. */
async function calls(work: () => Promise<unknown>): Promise<number> {
  const recorder = new DiagnosticsRecorder();
  try {
    await work();
    return recorder.of("etcd-ts:call:start").length;
  } finally {
    recorder.close();
  }
}

describe("Go's leasing.NewKV and etcd-ts's leasing KV on one prefix", () => {
  it("a key Go owns: etcd-ts's put revokes Go's ownership first, and Go's next read sees it", async () => {
    const key = "gdata/from-ts";
    await etcd.put(key, "v1");
    expect(await goGet(key)).toMatchObject({ found: true, value: "v1" });
    // Go owns it, in Go's layout: <prefix><key> on Go's session lease...
    const leasingKey = await etcd.get(`${PREFIX}${key}`);
    expect(leasingKey?.lease).toBeGreaterThan(0n);
    // ...and answers from memory: a write outside the protocol is not seen (Go's rule).
    await etcd.put(key, "outside");
    expect(await goGet(key)).toMatchObject({ value: "v1" });
    // etcd-ts's leasing put revokes first: Go rescinds, then the put happens.
    const put = await within(lkv.put(key, "from-ts"), "etcd-ts's put on a key Go owns");
    expect(await etcd.get(`${PREFIX}${key}`)).toBeUndefined();
    expect(await goGet(key)).toMatchObject({
      found: true,
      value: "from-ts",
      modRevision: Number(put.revision),
    });
    // And a delete the same way.
    await goGet(key);
    await within(lkv.delete(key), "etcd-ts's delete on a key Go owns");
    expect(await goGet(key)).toMatchObject({ found: false });
  });

  it("a key etcd-ts owns: Go's put revokes etcd-ts's ownership first, and etcd-ts's next read sees it", async () => {
    const key = "gdata/from-go";
    await etcd.put(key, "v1");
    expect((await lkv.get(key))?.text()).toBe("v1");
    expect(await calls(() => lkv.get(key))).toBe(0); // owned: from memory
    expect((await etcd.get(`${PREFIX}${key}`))?.lease).toBeGreaterThan(0n);
    const put = await go.request<{ revision: number }>("leasing-put", {
      handle: "go",
      key,
      value: "from-go",
    });
    expect(lkv.ownedKeys).toBe(0);
    const kv = await lkv.get(key);
    expect(kv?.text()).toBe("from-go");
    expect(kv?.modRevision).toBe(BigInt(put.revision));
    await lkv.get(key);
    await go.request("leasing-delete", { handle: "go", key });
    expect(await lkv.get(key)).toBeUndefined();
  });

  it("one key, written in turn from both languages, each reading the other's write", async () => {
    const key = "gdata/both";
    for (let i = 0; i < 4; i++) {
      // Both read first, so whichever gets there owns the key when the other writes.
      await lkv.get(key);
      await goGet(key);
      if (i % 2 === 0) {
        await within(lkv.put(key, `ts-${i}`), `etcd-ts put ${i}`);
        expect(await goGet(key)).toMatchObject({ value: `ts-${i}` });
      } else {
        await go.request("leasing-put", { handle: "go", key, value: `go-${i}` });
        expect((await lkv.get(key))?.text()).toBe(`go-${i}`);
      }
    }
  });

  it("a key Go owns: an etcd-ts leasing txn writing it revokes Go's ownership first, and Go's next read sees it", async () => {
    const key = "gdata/txn-from-ts";
    await etcd.put(key, "v1");
    expect(await goGet(key)).toMatchObject({ found: true, value: "v1" });
    expect((await etcd.get(`${PREFIX}${key}`))?.lease).toBeGreaterThan(0n); // Go owns it
    const res = await within(
      lkv
        .txn()
        .if(compare.value(key, "=", "v1"))
        .onSuccess(op.put(key, "from-ts-txn"))
        .commit(),
      "etcd-ts's txn on a key Go owns",
    );
    expect(res.succeeded).toBe(true);
    expect(await etcd.get(`${PREFIX}${key}`)).toBeUndefined();
    expect(await goGet(key)).toMatchObject({
      found: true,
      value: "from-ts-txn",
      modRevision: Number(res.revision),
    });
  });

  it("a key etcd-ts owns: Go's leasing txn writing it revokes etcd-ts's ownership first", async () => {
    const key = "gdata/txn-from-go";
    await etcd.put(key, "v1");
    expect((await lkv.get(key))?.text()).toBe("v1");
    expect(await calls(() => lkv.get(key))).toBe(0); // owned: from memory
    const put = await go.request<{ succeeded: boolean; revision: number }>("leasing-txn-put", {
      handle: "go",
      key,
      value: "from-go-txn",
    });
    expect(put.succeeded).toBe(true);
    const kv = await lkv.get(key);
    expect(kv?.text()).toBe("from-go-txn");
    expect(kv?.modRevision).toBe(BigInt(put.revision));
  });
});

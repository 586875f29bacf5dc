// The leasing KV (LeasingKv.open(etcd, prefix), Go's client/v3/leasing) against a real etcd: owned keys are read
// from memory, writers through another leasing KV revoke ownership first so the owner's next read sees
// their write, a lost session drops ownership, close() deletes the leasing keys; with auth on too.
import { beforeAll, describe, expect, it } from "vitest";
import {
  ClosedError,
  compare,
  type Etcd,
  InvalidArgumentError,
  LeasingKv,
  op,
  txn,
} from "../../src/client/index.js";
import { DiagnosticsRecorder } from "../support/diagnostics.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { enableAuth } from "../support/etcdctl.js";
import { until, within } from "../support/wait.js";

let serial = 0;
const unique = (base: string) => `${base}-${++serial}`;

/** The unary KV calls a block of code makes (the session's keepalive is a stream, not counted). */
async function kvCalls(work: () => Promise<unknown>): Promise<string[]> {
  const recorder = new DiagnosticsRecorder();
  try {
    await work();
    return recorder
      .of("etcd-ts:call:start")
      .map((e) => String(e.rpcMethod))
      .filter((m) => m === "Range" || m === "Txn" || m === "Put" || m === "DeleteRange");
  } finally {
    recorder.close();
  }
}

/** Timers and sockets holding the process (an idle client's socket does not: it is unref'd). */
function heldResources(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "TCPSocketWrap").length;
}

describe("leasing KV", () => {
  const env = useEtcd();
  const { cleanups } = env;
  let plain: Etcd;

  beforeAll(() => {
    plain = env.client();
  });

  async function leasing(prefix: string, etcd: Etcd = env.client()): Promise<LeasingKv> {
    const lkv = await LeasingKv.open(etcd, prefix, { ttl: 5 });
    cleanups.push(() => lkv.close());
    return lkv;
  }

  it("answers reads of an owned key from memory: no request reaches etcd after the first", async () => {
    const pfx = unique("lease/");
    const key = unique("data/k");
    await plain.put(key, "v1");
    const lkv = await leasing(pfx);
    const first = await kvCalls(() => lkv.get(key));
    expect(first).toEqual(["Txn"]); // the read and the leasing key, in one txn
    expect((await plain.get(`${pfx}${key}`))?.lease).toBeGreaterThan(0n);
    let values: string[] = [];
    const later = await kvCalls(async () => {
      values = [];
      for (let i = 0; i < 50; i++) values.push((await lkv.get(key))!.text());
    });
    expect(later).toEqual([]);
    expect(new Set(values)).toEqual(new Set(["v1"]));
    expect(lkv.ownedKeys).toBe(1);
    // Keys only: the owned copy without its value.
    expect((await lkv.get(key, { keysOnly: true }))?.value).toEqual(new Uint8Array());
    // A read the copy cannot answer goes to etcd.
    expect(await kvCalls(() => lkv.get(key, { revision: 1 }))).toEqual(["Range"]);
  });

  it("its own writes update the owned copy; a missing key is owned too", async () => {
    const pfx = unique("lease/");
    const key = unique("data/own");
    const lkv = await leasing(pfx);
    expect(await lkv.get(key)).toBeUndefined();
    const put = await lkv.put(key, "mine");
    const calls = await kvCalls(async () => {
      const kv = await lkv.get(key);
      expect(kv?.text()).toBe("mine");
      expect(kv?.modRevision).toBe(put.revision);
      expect(kv?.version).toBe(1n);
    });
    expect(calls).toEqual([]);
    expect((await plain.get(key))?.text()).toBe("mine");
    await lkv.delete(key);
    expect(await kvCalls(async () => expect(await lkv.get(key)).toBeUndefined())).toEqual([]);
    expect(await plain.get(key)).toBeUndefined();
  });

  it("a write through another client's leasing KV revokes ownership first: the owner's next read sees it", async () => {
    const pfx = unique("lease/");
    const key = unique("data/w");
    await plain.put(key, "before");
    const owner = await leasing(pfx);
    const writer = await leasing(pfx); // its own Etcd: another process, as far as etcd can tell
    expect((await owner.get(key))?.text()).toBe("before");
    const put = await within(writer.put(key, "after"), "the writer's put");
    // The owner gave the key up before the put happened: its leasing key is gone...
    expect(owner.ownedKeys).toBe(0);
    expect(await plain.get(`${pfx}${key}`)).toBeUndefined();
    // ...so its next read is linearizable: it sees the write.
    const kv = await owner.get(key);
    expect(kv?.text()).toBe("after");
    expect(kv?.modRevision).toBe(put.revision);
    // A delete revokes the same way.
    await owner.get(key);
    await within(writer.delete(key), "the writer's delete");
    expect(await owner.get(key)).toBeUndefined();
  });

  it("two leasing clients on one key see each other's writes, both ways", async () => {
    const pfx = unique("lease/");
    const key = unique("data/two");
    const a = await leasing(pfx);
    const b = await leasing(pfx);
    for (let i = 0; i < 4; i++) {
      const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
      await reader.get(key); // the reader may own the key now
      await within(writer.put(key, `v${i}`), `put ${i}`);
      expect((await reader.get(key))?.text()).toBe(`v${i}`);
      expect((await writer.get(key))?.text()).toBe(`v${i}`);
    }
    // A range delete revokes every owner in the range.
    await a.get(key);
    await within(b.delete({ prefix: key }), "the range delete");
    expect(await a.get(key)).toBeUndefined();
  });

  it("the owner's session lost (its lease revoked) drops ownership; a new session is granted", async () => {
    const pfx = unique("lease/");
    const key = unique("data/lost");
    await plain.put(key, "1");
    const lkv = await leasing(pfx);
    await lkv.get(key);
    expect(lkv.ownedKeys).toBe(1);
    const lease = (await plain.get(`${pfx}${key}`))!.lease;
    await plain.lease.revoke(lease);
    await until("ownership dropped", () => lkv.ownedKeys === 0);
    // A plain write after the loss: the owner no longer answers from memory.
    await plain.put(key, "2");
    expect((await lkv.get(key))?.text()).toBe("2");
    // A new session: the key is owned again, on the new lease.
    await until("the key owned again", async () => {
      await lkv.get(key);
      return lkv.ownedKeys === 1;
    });
    const again = (await plain.get(`${pfx}${key}`))!.lease;
    expect(again).not.toBe(lease);
    expect(await kvCalls(() => lkv.get(key))).toEqual([]);
  });

  it("close() deletes its leasing keys and ends the object; calls then fail with ClosedError", async () => {
    const pfx = unique("lease/");
    const etcd = env.client();
    await etcd.get("warm"); // the client's connection exists, and holds nothing once idle
    // What holds the process before: nothing, unless a file before this one in the worker left a timer
    // (then the check below is against that baseline).
    await until("an idle client holding nothing", () => heldResources() === 0, 2000).catch(() => {});
    const heldBefore = heldResources();
    const lkv = await leasing(pfx, etcd);
    expect(heldResources()).toBeGreaterThan(heldBefore); // it holds the process while open
    await lkv.get(unique("data/c"));
    await lkv.get(unique("data/c"));
    expect((await plain.range({ prefix: pfx })).kvs).toHaveLength(2);
    const closeEvent = new Promise((resolve) => lkv.once("close", resolve));
    await lkv.close();
    expect(await closeEvent).toBeUndefined();
    expect(lkv.signal.aborted).toBe(true);
    expect(lkv.signal.reason).toBeInstanceOf(ClosedError);
    expect(lkv.state).toBe("closed");
    expect(await lkv.closed).toBeUndefined();
    expect((await plain.range({ prefix: pfx })).kvs).toHaveLength(0);
    // No timer or socket of it holds the process any more.
    await until("the leasing KV's timers and sockets released", () => heldResources() <= heldBefore);
    await expect(lkv.get("data/x")).rejects.toBeInstanceOf(ClosedError);
    await expect(lkv.put("data/x", "v")).rejects.toBeInstanceOf(ClosedError);
    await lkv.close(); // twice is fine
  });

  it("a writer waiting for an owner fails with ClosedError when it closes, and honours its signal", async () => {
    const pfx = unique("lease/");
    const key = unique("data/wait");
    // An owner that never gives the key up: a leasing key on a lease of its own, REVOKE ignored.
    const lease = await plain.lease.grant(30);
    cleanups.push(() => lease.revoke().catch(() => undefined));
    await plain.put(`${pfx}${key}`, "", { lease: lease.id });
    const writer = await leasing(pfx);
    const controller = new AbortController();
    const put = writer.put(key, "v", { signal: controller.signal });
    await until("the revoke marker", async () => (await plain.get(`${pfx}${key}`))?.text() === "REVOKE");
    controller.abort();
    await expect(put).rejects.toMatchObject({ name: "AbortedError" });
    const put2 = writer.put(key, "v");
    await until("the second revoke", async () => (await plain.get(`${pfx}${key}`))?.version === 3n);
    const put2Fails = expect(put2).rejects.toBeInstanceOf(ClosedError);
    await writer.close();
    await put2Fails;
    // The owner's lease gone, the leasing key goes, and a writer gets through.
    await lease.revoke();
    const w2 = await leasing(pfx);
    await within(w2.put(key, "v"), "put after the owner's lease expired");
  });

  it("refuses bad input before sending anything", async () => {
    const etcd = env.client();
    await expect(LeasingKv.open(etcd, "")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(LeasingKv.open(etcd, null as unknown as string)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(LeasingKv.open(etcd, "p/", { ttl: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(LeasingKv.open(etcd, "p/", "x" as unknown as object)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(LeasingKv.open({} as unknown as Etcd, "p/")).rejects.toBeInstanceOf(InvalidArgumentError);
    const lkv = await leasing(unique("lease/"), etcd);
    await expect(
      lkv.get(`${lkv.prefix.length ? new TextDecoder().decode(lkv.prefix) : ""}k`),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lkv.get({} as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lkv.put("k", "v", null as unknown as object)).rejects.toBeInstanceOf(InvalidArgumentError);
    // A txn: ops and guards checked as etcd.txn() checks them, keys under the leasing prefix refused,
    // the options object checked; nothing is sent.
    const leasingKey = `${new TextDecoder().decode(lkv.prefix)}k`;
    expect(() => lkv.txn().onSuccess({} as unknown as ReturnType<typeof op.get>)).toThrow(
      InvalidArgumentError,
    );
    expect(() => lkv.txn().if({} as unknown as ReturnType<typeof compare.value>)).toThrow(
      InvalidArgumentError,
    );
    const calls = await kvCalls(async () => {
      await expect(lkv.txn().onSuccess(op.put(leasingKey, "v")).commit()).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      await expect(
        lkv
          .txn()
          .onFailure(op.txn(txn().onSuccess(op.get(leasingKey))))
          .commit(),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(
        lkv
          .txn()
          .onSuccess(op.put("k", "v"))
          .commit("x" as unknown as object),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
    });
    expect(calls).toEqual([]);
    const once = lkv.txn().onSuccess(op.get("k"));
    await once.commit();
    await expect(once.commit()).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("a txn writing a key another client owns revokes it first, in either branch: the owner's next read sees it", async () => {
    const pfx = unique("lease/");
    const key = unique("data/t");
    await plain.put(key, "before");
    const owner = await leasing(pfx);
    const writer = await leasing(pfx);
    expect((await owner.get(key))?.text()).toBe("before");
    const res = await within(
      writer
        .txn()
        .if(compare.value(key, "=", "before"))
        .onSuccess(op.put(key, "after"), op.get(key))
        .onFailure(op.get(key))
        .commit(),
      "the txn on an owned key",
    );
    expect(res.succeeded).toBe(true);
    if (!res.succeeded) return;
    expect(res.results[1].kvs[0]?.text()).toBe("after");
    expect(owner.ownedKeys).toBe(0);
    expect(await plain.get(`${pfx}${key}`)).toBeUndefined();
    const kv = await owner.get(key);
    expect(kv?.text()).toBe("after");
    expect(kv?.modRevision).toBe(res.revision);
    // A guard that fails runs the failure branch, whose writes revoke the same way (a fresh key: the
    // owner leaves a key revoked from it to etcd for 2 s).
    const key2 = unique("data/t2");
    expect(await owner.get(key2)).toBeUndefined();
    expect((await plain.get(`${pfx}${key2}`))?.lease).toBeGreaterThan(0n); // owned
    const failed = await within(
      writer
        .txn()
        .if(compare.value(key2, "=", "nope"))
        .onSuccess(op.get(key2))
        .onFailure(op.put(key2, "else"))
        .commit(),
      "the failing txn",
    );
    expect(failed.succeeded).toBe(false);
    expect(await plain.get(`${pfx}${key2}`)).toBeUndefined();
    expect((await owner.get(key2))?.text()).toBe("else");
    // A delete of a range, nested in a txn, revokes every owner in it.
    const key3 = unique("data/t3");
    await plain.put(key3, "x");
    expect((await owner.get(key3))?.text()).toBe("x");
    expect((await plain.get(`${pfx}${key3}`))?.lease).toBeGreaterThan(0n); // owned
    const nested = await within(
      writer
        .txn()
        .onSuccess(op.txn(txn().onSuccess(op.delete({ prefix: key3 }))))
        .commit(),
      "the nested range delete",
    );
    expect(nested.succeeded).toBe(true);
    expect(await owner.get(key3)).toBeUndefined();
  });

  it("a txn's writes update this client's owned copies, from the branch that ran; reads go to etcd", async () => {
    const pfx = unique("lease/");
    const a = unique("data/ta");
    const b = unique("data/tb");
    const c = unique("data/tc");
    await plain.put(b, "b0");
    await plain.put(c, "c0");
    const lkv = await leasing(pfx);
    await lkv.get(a); // owned, missing
    await lkv.get(b);
    await lkv.get(c);
    expect(lkv.ownedKeys).toBe(3);
    const res = await lkv
      .txn()
      .if(compare.value(b, "=", "b0"))
      .onSuccess(
        op.put(a, "a1"),
        op.delete(b),
        op.txn(
          txn()
            .if(compare.version(c, ">", 0))
            .onSuccess(op.put(c, "c1")),
        ),
      )
      .onFailure(op.put(a, "wrong"))
      .commit();
    expect(res.succeeded).toBe(true);
    // From memory, and equal to what etcd holds.
    let copies: (string | undefined)[] = [];
    const calls = await kvCalls(async () => {
      copies = [
        (await lkv.get(a))?.text(),
        (await lkv.get(b))?.text(),
        (await lkv.get(c))?.text(),
        String((await lkv.get(c))?.version),
        String((await lkv.get(a))?.modRevision),
      ];
    });
    expect(calls).toEqual([]);
    const inEtcd = [
      (await plain.get(a))?.text(),
      (await plain.get(b))?.text(),
      (await plain.get(c))?.text(),
      String((await plain.get(c))?.version),
      String((await plain.get(a))?.modRevision),
    ];
    expect(copies).toEqual(["a1", undefined, "c1", "2", String(res.revision)]);
    expect(copies).toEqual(inEtcd);
    // The failure branch ran: its put is applied, the success branch's is not.
    const other = await lkv
      .txn()
      .if(compare.value(a, "=", "x"))
      .onSuccess(op.put(a, "x"))
      .onFailure(op.put(c, "c2"))
      .commit();
    expect(other.succeeded).toBe(false);
    expect(await kvCalls(async () => [(await lkv.get(a))?.text(), (await lkv.get(c))?.text()])).toEqual([]);
    expect((await lkv.get(a))?.text()).toBe("a1");
    expect((await lkv.get(c))?.text()).toBe("c2");
    // A range delete empties the copies it covers; a put with a lease drops the copy (as put() does).
    const lease = await plain.lease.grant(30);
    cleanups.push(() => lease.revoke().catch(() => undefined));
    await lkv
      .txn()
      .onSuccess(op.delete({ key: c, end: `${c}\0` }), op.put(a, "leased", { lease: lease.id }))
      .commit();
    expect(await lkv.get(c)).toBeUndefined();
    expect(lkv.ownedKeys).toBe(2); // b and c stay owned (both missing now); a is dropped
    expect((await lkv.get(a))?.text()).toBe("leased");
    // A read-only txn is answered by etcd (one Txn), even on owned keys.
    expect(
      await kvCalls(() =>
        lkv
          .txn()
          .if(compare.version(b, "=", 0))
          .onSuccess(op.get(b))
          .commit(),
      ),
    ).toEqual(["Txn"]);
  });

  it("a txn retries when its guard finds an owner: it revokes, waits for the rescind, then commits once", async () => {
    const pfx = unique("lease/");
    const key = unique("data/race");
    // An owner the test controls: a leasing key on a lease of its own; it rescinds when the test says.
    const lease = await plain.lease.grant(30);
    cleanups.push(() => lease.revoke().catch(() => undefined));
    await plain.put(`${pfx}${key}`, "", { lease: lease.id });
    const writer = await leasing(pfx);
    const pending = writer.txn().onSuccess(op.put(key, "v")).commit();
    await until("the revoke marker", async () => (await plain.get(`${pfx}${key}`))?.text() === "REVOKE");
    expect(await plain.get(key)).toBeUndefined(); // nothing written while the owner holds the key
    await plain.delete(`${pfx}${key}`); // the owner rescinds
    const res = await within(pending, "the txn after the rescind");
    expect(res.succeeded).toBe(true);
    const kv = await plain.get(key);
    expect(kv?.version).toBe(1n); // written once
    expect(kv?.modRevision).toBe(res.revision);
  });
});

describe("leasing KV with auth on (rights on the data prefix and the leasing prefix)", () => {
  const ROOT_PW = "root-Secret-pw-123";
  const USER_PW = "user-Secret-pw-456";
  const env = useEtcd();
  const { cleanups } = env;

  beforeAll(async () => {
    await enableAuth(env.cluster.endpoint, {
      rootPassword: ROOT_PW,
      role: {
        name: "app",
        grants: [
          ["readwrite", "adata/"],
          ["readwrite", "alease/"],
        ],
        users: [{ username: "app", password: USER_PW }],
      },
    });
  });

  it("reads from memory, and a second user client's write revokes and is seen", async () => {
    const client = () => env.client({ auth: { username: "app", password: USER_PW } });
    const owner = await LeasingKv.open(client(), "alease/", { ttl: 5 });
    cleanups.push(() => owner.close());
    const writer = await LeasingKv.open(client(), "alease/", { ttl: 5 });
    cleanups.push(() => writer.close());
    await writer.put("adata/k", "1");
    expect((await owner.get("adata/k"))?.text()).toBe("1");
    expect(await kvCalls(() => owner.get("adata/k"))).toEqual([]);
    await within(writer.put("adata/k", "2"), "the put");
    expect((await owner.get("adata/k"))?.text()).toBe("2");
    // A txn of the other user client revokes the same way.
    const res = await within(writer.txn().onSuccess(op.put("adata/k", "3")).commit(), "the txn");
    expect(res.succeeded).toBe(true);
    expect((await owner.get("adata/k"))?.text()).toBe("3");
    // A read-only txn is sent as etcd.txn() sends it: refused without rights, on every server.
    await expect(writer.txn().onSuccess(op.get("elsewhere")).commit()).rejects.toMatchObject({
      name: "PermissionDeniedError",
    });
    // A writing txn is nested in the leasing guards (as Go's): refused exactly when the server refuses
    // the same nested txn from a plain client (etcd before the GHSA-rfx7-8w68-q57q fix, such as 3.4.23,
    // does not check ops nested in a txn).
    const user = client();
    const raw = await user
      .txn()
      .onSuccess(op.txn(txn().onSuccess(op.put("elsewhere/raw", "x"))))
      .commit()
      .then(
        () => "written",
        (err: Error) => err.name,
      );
    const viaLeasing = await writer
      .txn()
      .onSuccess(op.put("elsewhere/lkv", "x"))
      .commit()
      .then(
        () => "written",
        (err: Error) => err.name,
      );
    expect(["written", "PermissionDeniedError"]).toContain(raw);
    expect(viaLeasing).toBe(raw);
    // Without rights on the data key, the acquiring txn is refused.
    await expect(owner.get("elsewhere")).rejects.toMatchObject({ name: "PermissionDeniedError" });
  });
});

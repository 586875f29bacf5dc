import { describe, expect, it } from "vitest";
import { op } from "../txn/ops.js";
import { txn } from "../txn/txn.js";
import { type AnyTxnResult, ranWrites, txnOpKeys, txnWrites } from "./leasing-txn.js";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("leasing txn: the writes of a txn", () => {
  const request = txn()
    .onSuccess(
      op.get("r"),
      op.put("a", "1", { lease: 7 }),
      op.txn(
        txn()
          .onSuccess(op.delete("b"))
          .onFailure(op.delete({ prefix: "c/" })),
      ),
    )
    .onFailure(op.put("d", "", { ignoreValue: true }))
    .toRequest();

  it("gathers every write of both branches, nested txns included, and every op's key", () => {
    const writes = txnWrites(request);
    expect(writes.map((w) => [w.kind, text(w.key), w.end && text(w.end)])).toEqual([
      ["put", "a", undefined],
      ["delete", "b", undefined],
      ["delete", "c/", "c0"],
      ["put", "d", undefined],
    ]);
    expect(writes[0]?.lease).toBe(7n);
    expect(writes[3]?.ignoreValue).toBe(true);
    expect(txnOpKeys(request).map(text)).toEqual(["r", "a", "b", "c/", "d"]);
  });

  it("keeps the writes of the branches that ran", () => {
    const nestedFailed = { revision: 5n, succeeded: false, results: [{}] };
    const ran = (result: object) => ranWrites(request, result as AnyTxnResult).map((w) => text(w.key));
    expect(ran({ revision: 5n, succeeded: true, results: [{}, {}, nestedFailed] })).toEqual(["a", "c/"]);
    expect(ran({ revision: 5n, succeeded: false, results: [{}] })).toEqual(["d"]);
  });
});

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  RangeResponseSchema,
  TxnRequestSchema,
  TxnResponseSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { InvalidArgumentError } from "../core/errors.js";
import type { PutResult, RangeResult } from "../kv/types.js";
import { compare } from "./compare.js";
import { op } from "./ops.js";
import { Txn, txn } from "./txn.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("Txn encoding", () => {
  it("encodes compares on every target and operator, over keys and ranges", () => {
    const t = txn().if(
      compare.value("k", "=", "v"),
      compare.version("k", "!=", 2),
      compare.createRevision({ prefix: "p/" }, "<", 5n),
      compare.modRevision({ key: "a", end: "c" }, ">", 7),
      compare.lease("k", "=", 0),
    );
    const req = create(TxnRequestSchema, t.toRequest());
    const [c0, c1, c2, c3, c4] = req.compare;
    expect(c0!.target).toBe(Compare_CompareTarget.VALUE);
    expect(c0!.result).toBe(Compare_CompareResult.EQUAL);
    expect(c0!.targetUnion).toEqual({ case: "value", value: enc("v") });
    expect(c1!.result).toBe(Compare_CompareResult.NOT_EQUAL);
    expect(c1!.targetUnion).toEqual({ case: "version", value: 2n });
    expect(c2!.result).toBe(Compare_CompareResult.LESS);
    expect(c2!.key).toEqual(enc("p/"));
    expect(c2!.rangeEnd).toEqual(enc("p0"));
    expect(c3!.target).toBe(Compare_CompareTarget.MOD);
    expect(c3!.result).toBe(Compare_CompareResult.GREATER);
    expect(c3!.rangeEnd).toEqual(enc("c"));
    expect(c4!.target).toBe(Compare_CompareTarget.LEASE);
    // And it survives the wire.
    expect(fromBinary(TxnRequestSchema, toBinary(TxnRequestSchema, req))).toEqual(req);
  });

  it("encodes branches with put, get, delete and a nested txn", () => {
    const nested = txn()
      .if(compare.version("n", "=", 0))
      .onSuccess(op.put("n", "1"));
    const t = txn()
      .onSuccess(op.put("a", "1", { prevKv: true }), op.get({ prefix: "a" }, { limit: 3 }), op.txn(nested))
      .onFailure(op.delete({ fromKey: "z" }));
    const req = create(TxnRequestSchema, t.toRequest());
    expect(req.success.map((o) => o.request.case)).toEqual(["requestPut", "requestRange", "requestTxn"]);
    expect(req.failure[0]!.request.case).toBe("requestDeleteRange");
    const inner = req.success[2]!.request;
    expect(inner.case === "requestTxn" && inner.value.success[0]!.request.case).toBe("requestPut");
    expect(t.isReadOnly()).toBe(false);
    expect(txn().onSuccess(op.get("a")).isReadOnly()).toBe(true);
    expect(
      txn()
        .onSuccess(op.txn(txn().onFailure(op.delete("x"))))
        .isReadOnly(),
    ).toBe(false);
  });

  it("decodes typed results of the branch that ran", () => {
    const t = txn().onSuccess(op.put("a", "1"), op.get("a")).onFailure(op.get("b"));
    const res = create(TxnResponseSchema, {
      header: { revision: 9n },
      succeeded: true,
      responses: [
        { response: { case: "responsePut", value: {} } },
        {
          response: {
            case: "responseRange",
            value: create(RangeResponseSchema, {
              kvs: [{ key: enc("a"), value: enc("1"), version: 1n }],
              count: 1n,
            }),
          },
        },
      ],
    });
    const out = t.decode(res);
    expect(out.succeeded).toBe(true);
    if (out.succeeded) {
      expectTypeOf(out.results).toEqualTypeOf<[PutResult, RangeResult]>();
      expect(out.results[0].revision).toBe(9n);
      expect(out.results[1].kvs[0]!.text()).toBe("1");
    }
  });

  it("cannot commit a nesting-only txn, and commits a bound one once", async () => {
    await expect(txn().commit()).rejects.toBeInstanceOf(InvalidArgumentError);
    let runs = 0;
    const bound = new Txn(async () => {
      runs++;
      return create(TxnResponseSchema, { succeeded: true });
    });
    await bound.commit();
    await expect(bound.commit()).rejects.toThrow(/already committed/);
    expect(runs).toBe(1);
  });

  it("is not thenable", () => {
    expect("then" in txn()).toBe(false);
  });
});

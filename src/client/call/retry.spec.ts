import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { KV, Lease } from "../../gen/etcdserverpb/rpc_pb.js";
import { classifyFailure, markNotSent } from "../core/failure.js";
import { RETRY_TABLE, retryKindOf, retryKindOfCall, shouldRetry } from "./retry.js";

/** The request provably never left (the failure rule). */
const isNotSent = (error: unknown) => !classifyFailure(error).sent;

const unavailable = () => new ConnectError("connection reset", Code.Unavailable);
const refused = () => {
  const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
  return new ConnectError("connect ECONNREFUSED 127.0.0.1:1", Code.Unavailable, undefined, undefined, cause);
};

describe("retry table", () => {
  it("names reads idempotent and writes as writes", () => {
    expect(retryKindOf(`${KV.typeName}/${KV.method.range.name}`)).toBe("idempotent");
    expect(retryKindOf(`${KV.typeName}/${KV.method.put.name}`)).toBe("write");
    expect(retryKindOf(`${KV.typeName}/${KV.method.deleteRange.name}`)).toBe("write");
    expect(retryKindOf(`${Lease.typeName}/${Lease.method.leaseGrant.name}`)).toBe("write");
    expect(retryKindOf(`${Lease.typeName}/${Lease.method.leaseKeepAlive.name}`)).toBe("idempotent");
    expect(retryKindOf("etcdserverpb.Unknown/Thing")).toBe("write");
  });
  it("covers every method of the generated services", async () => {
    const gen = await import("../../gen/etcdserverpb/rpc_pb.js");
    for (const svc of [gen.KV, gen.Watch, gen.Lease, gen.Cluster, gen.Maintenance, gen.Auth]) {
      for (const m of svc.methods) expect(RETRY_TABLE[`${svc.typeName}/${m.name}`], m.name).toBeDefined();
    }
    const { Lock } = await import("../../gen/v3lockpb/v3lock_pb.js");
    const { Election } = await import("../../gen/v3electionpb/v3election_pb.js");
    for (const svc of [Lock, Election]) {
      for (const m of svc.methods) expect(RETRY_TABLE[`${svc.typeName}/${m.name}`], m.name).toBeDefined();
    }
  });
  it("never retries a sent Lock or Campaign (they wait on the member, which cleans up after a lost call)", async () => {
    const { Lock } = await import("../../gen/v3lockpb/v3lock_pb.js");
    const { Election } = await import("../../gen/v3electionpb/v3election_pb.js");
    expect(retryKindOfCall(Lock.method.lock, {})).toBe("write");
    expect(retryKindOfCall(Election.method.campaign, {})).toBe("write");
    expect(retryKindOfCall(Election.method.leader, {})).toBe("idempotent");
    expect(retryKindOfCall(Election.method.resign, {})).toBe("idempotent");
  });
});

describe("retryKindOfCall", () => {
  const range = { request: { case: "requestRange", value: {} } };
  const put = { request: { case: "requestPut", value: {} } };
  it("is the table's kind, a Txn that only reads (nested txns too) idempotent", () => {
    expect(retryKindOfCall(KV.method.range, {})).toBe("idempotent");
    expect(retryKindOfCall(KV.method.put, {})).toBe("write");
    expect(retryKindOfCall(KV.method.txn, { success: [range], failure: [range] })).toBe("idempotent");
    expect(retryKindOfCall(KV.method.txn, {})).toBe("idempotent");
    expect(retryKindOfCall(KV.method.txn, { success: [range], failure: [put] })).toBe("write");
    const nested = (op: unknown) => ({ request: { case: "requestTxn", value: { success: [op] } } });
    expect(retryKindOfCall(KV.method.txn, { success: [nested(range)] })).toBe("idempotent");
    expect(retryKindOfCall(KV.method.txn, { success: [nested(put)] })).toBe("write");
  });
});

describe("shouldRetry", () => {
  it("retries idempotent calls on UNAVAILABLE", () => {
    expect(shouldRetry("idempotent", unavailable())).toBe(true);
  });
  it("never retries writes on UNAVAILABLE after sending, nor on timeouts", () => {
    expect(shouldRetry("write", unavailable())).toBe(false);
    expect(shouldRetry("write", new ConnectError("deadline", Code.DeadlineExceeded))).toBe(false);
    expect(shouldRetry("idempotent", new ConnectError("deadline", Code.DeadlineExceeded))).toBe(false);
  });
  it("retries writes that provably never left", () => {
    expect(shouldRetry("write", refused())).toBe(true);
    expect(shouldRetry("write", markNotSent(new ConnectError("refused stream", Code.Unavailable)))).toBe(
      true,
    );
  });
  it("retries idempotent calls whose connection was reset, whatever code the transport used", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    const err = new ConnectError("read ECONNRESET", Code.Aborted, undefined, undefined, reset);
    expect(shouldRetry("idempotent", err)).toBe(true);
    expect(shouldRetry("write", err)).toBe(false);
  });
  it("never retries a refusal or a cancel, sent or not", () => {
    const tooLarge = markNotSent(new ConnectError("exceeds the send limit", Code.ResourceExhausted));
    expect(shouldRetry("idempotent", tooLarge)).toBe(false);
    expect(shouldRetry("write", markNotSent(new ConnectError("no token", Code.Unauthenticated)))).toBe(false);
    expect(shouldRetry("idempotent", markNotSent(new ConnectError("aborted", Code.Canceled)))).toBe(false);
  });
  it("does not retry server answers other than UNAVAILABLE", () => {
    expect(
      shouldRetry("idempotent", new ConnectError("etcdserver: permission denied", Code.PermissionDenied)),
    ).toBe(false);
  });
});

describe("isNotSent", () => {
  it("sees ECONNREFUSED in the cause chain and in messages", () => {
    expect(isNotSent(refused())).toBe(true);
    expect(isNotSent(new Error("x", { cause: new Error("connect EHOSTUNREACH 10.0.0.1:2379") }))).toBe(true);
    expect(isNotSent(unavailable())).toBe(false);
    expect(isNotSent(Object.assign(new Error("reset"), { code: "ECONNRESET" }))).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { KV, Lease } from "../../gen/etcdserverpb/rpc_pb.js";
import { StaleReadError } from "../core/errors.js";
import { RevisionFloor } from "./revision-floor.js";

const at = (revision: bigint) => ({ header: { revision } });
const E = "http://127.0.0.1:2379";

describe("RevisionFloor", () => {
  it("rises with every KV answer, reads and writes, never falls", () => {
    const floor = new RevisionFloor();
    floor.checkFor(KV.method.put, "write")!(at(5n), E);
    floor.checkFor(KV.method.deleteRange, "write")!(at(8n), E);
    floor.checkFor(KV.method.txn, "write")!(at(6n), E);
    expect(floor.seen).toBe(8n);
    floor.checkFor(KV.method.range, "idempotent")!(at(8n), E);
    floor.checkFor(KV.method.txn, "idempotent")!(at(11n), E);
    expect(floor.seen).toBe(11n);
  });

  it("refuses a read answered below the revision seen when it started, naming both and the member", () => {
    const floor = new RevisionFloor();
    floor.checkFor(KV.method.put, "write")!(at(10n), E);
    const check = floor.checkFor(KV.method.range, "idempotent")!;
    let err: unknown;
    try {
      check(at(9n), E);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StaleReadError);
    expect(err).toMatchObject({ revision: 9n, seenRevision: 10n, endpoint: E });
    expect((err as Error).message).toMatch(/revision 9, older than revision 10/);
    expect(floor.seen).toBe(10n);
    const answer = at(10n);
    expect(check(answer, E)).toBe(answer);
  });

  it("holds a read to the floor of its start, not to what a concurrent call saw since", () => {
    const floor = new RevisionFloor();
    floor.checkFor(KV.method.put, "write")!(at(4n), E);
    const read = floor.checkFor(KV.method.range, "idempotent")!;
    floor.checkFor(KV.method.put, "write")!(at(7n), E);
    expect(read(at(5n), E)).toEqual(at(5n));
    expect(floor.seen).toBe(7n);
    expect(() => floor.checkFor(KV.method.txn, "idempotent")!(at(6n), E)).toThrow(StaleReadError);
  });

  it("ignores calls outside KV Range, Put, DeleteRange and Txn", () => {
    const floor = new RevisionFloor();
    expect(floor.checkFor(KV.method.compact, "write")).toBeUndefined();
    expect(floor.checkFor(KV.method.rangeStream, "idempotent")).toBeUndefined();
    expect(floor.checkFor(Lease.method.leaseGrant, "write")).toBeUndefined();
  });
});

import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { WatchResponseSchema } from "../../gen/etcdserverpb/rpc_pb.js";
import { EventSchema, KeyValueSchema } from "../../gen/mvccpb/kv_pb.js";
import { FragmentAssembler } from "./fragments.js";

const resp = (watchId: bigint, revs: bigint[], fragment: boolean) =>
  create(WatchResponseSchema, {
    watchId,
    fragment,
    events: revs.map((r) => create(EventSchema, { kv: create(KeyValueSchema, { modRevision: r }) })),
  });

describe("FragmentAssembler", () => {
  it("passes whole responses through", () => {
    const a = new FragmentAssembler();
    const r = resp(1n, [3n], false);
    expect(a.accept(r)).toBe(r);
  });

  it("joins pieces per watch id and returns them with the last one", () => {
    const a = new FragmentAssembler();
    expect(a.accept(resp(1n, [5n, 5n], true))).toBeUndefined();
    expect(a.accept(resp(2n, [6n], false))?.events).toHaveLength(1);
    expect(a.accept(resp(1n, [5n], true))).toBeUndefined();
    const whole = a.accept(resp(1n, [5n], false));
    expect(whole?.events).toHaveLength(4);
    expect(whole?.fragment).toBe(false);
    expect(a.accept(resp(1n, [7n], false))?.events).toHaveLength(1);
  });

  it("forgets a canceled watch's pieces", () => {
    const a = new FragmentAssembler();
    a.accept(resp(1n, [5n], true));
    a.drop(1n);
    expect(a.accept(resp(1n, [8n], false))?.events).toHaveLength(1);
  });
});

import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EventSchema, KeyValueSchema } from "../../gen/mvccpb/kv_pb.js";
import { createStartRevision, dropSeen, nextAfterCreated, nextAfterEvents } from "./resume.js";

const ev = (rev: bigint) => create(EventSchema, { kv: create(KeyValueSchema, { modRevision: rev }) });

describe("the watch resume rule", () => {
  it("asks for 0 (now) until a revision is known", () => {
    expect(createStartRevision(undefined)).toBe(0n);
    expect(createStartRevision(7n)).toBe(7n);
  });

  it("a 'now' watch resumes after the created header's revision (the server watches from header + 1)", () => {
    expect(nextAfterCreated(undefined, 41n)).toBe(42n);
  });

  it("a created answer never moves an explicit or already advanced resume point", () => {
    expect(nextAfterCreated(10n, 41n)).toBe(10n);
  });

  it("after events, resumes at the last event's mod_revision + 1", () => {
    expect(nextAfterEvents(5n, [ev(5n), ev(5n), ev(9n)])).toBe(10n);
    expect(nextAfterEvents(5n, [])).toBe(5n);
  });

  it("drops events the consumer already saw", () => {
    expect(dropSeen([ev(4n), ev(5n), ev(6n)], 5n).map((e) => e.kv!.modRevision)).toEqual([5n, 6n]);
    expect(dropSeen([ev(4n)], undefined)).toHaveLength(1);
  });
});

import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Event_EventType, EventSchema } from "../../gen/mvccpb/kv_pb.js";
import { KeyValue } from "../kv/key-value.js";
import { toWatchEvents } from "./events.js";

const enc = new TextEncoder();

describe("toWatchEvents", () => {
  it("turns etcd's events into put/delete events with KeyValues, prevKv only when sent", () => {
    const events = toWatchEvents([
      create(EventSchema, {
        type: Event_EventType.PUT,
        kv: { key: enc.encode("a"), value: enc.encode("1"), modRevision: 5n },
      }),
      create(EventSchema, {
        type: Event_EventType.DELETE,
        kv: { key: enc.encode("a"), modRevision: 6n },
        prevKv: { key: enc.encode("a"), value: enc.encode("1"), modRevision: 5n },
      }),
    ]);
    expect(events.map((e) => e.type)).toEqual(["put", "delete"]);
    expect(events[0]!.kv).toBeInstanceOf(KeyValue);
    expect(events[0]!.kv.text()).toBe("1");
    expect("prevKv" in events[0]!).toBe(false);
    expect(events[1]!.kv.modRevision).toBe(6n);
    expect(events[1]!.prevKv?.text()).toBe("1");
  });
});

import { type Event, Event_EventType } from "../../gen/mvccpb/kv_pb.js";
import { KeyValue } from "../kv/key-value.js";
import type { WatchEvent } from "./types.js";

/** etcd's events as the public {@link WatchEvent}s (the read API's `KeyValue`, `"put"` / `"delete"`). */
export function toWatchEvents(events: readonly Event[]): WatchEvent[] {
  const out = new Array<WatchEvent>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    // etcd always sets kv on an event; an empty one keeps a malformed answer from crashing the stream.
    const kv = new KeyValue(e.kv ?? EMPTY);
    const type = e.type === Event_EventType.DELETE ? "delete" : "put";
    out[i] = e.prevKv ? { type, kv, prevKv: new KeyValue(e.prevKv) } : { type, kv };
  }
  return out;
}

const EMPTY = {
  key: new Uint8Array(0),
  value: new Uint8Array(0),
  createRevision: 0n,
  modRevision: 0n,
  version: 0n,
  lease: 0n,
} as ConstructorParameters<typeof KeyValue>[0];

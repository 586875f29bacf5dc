import type { KeyValue as KeyValuePb } from "../../gen/mvccpb/kv_pb.js";
import { KeyValue } from "../kv/key-value.js";
import type { WatchEvent } from "../watch/types.js";
import { fromByteString } from "./byte-string.js";
import type { SortedEntries } from "./sorted-entries.js";

/**
 * The events that turn `before` into `after` (the range read again at `revision`), in key order: a put
 * for each key that is new or has another mod revision (with `prevKv` when it existed), a delete for
 * each key that is gone. The history in between was compacted away or never seen, so a delete carries
 * `revision` as its mod revision, as a watch would have shown it at the latest. One walk over both.
 */
export function diffEntries(before: SortedEntries, after: SortedEntries, revision: bigint): WatchEvent[] {
  const events: WatchEvent[] = [];
  const old = before.cursor();
  const now = after.cursor();
  while (!old.done || !now.done) {
    if (now.done || (!old.done && old.key < now.key)) {
      events.push({ type: "delete", kv: deletedAt(old.key, revision), prevKv: old.keyValue() });
      old.next();
    } else if (old.done || now.key < old.key) {
      events.push({ type: "put", kv: now.keyValue() });
      now.next();
    } else {
      if (old.modRevision !== now.modRevision)
        events.push({ type: "put", kv: now.keyValue(), prevKv: old.keyValue() });
      old.next();
      now.next();
    }
  }
  return events;
}

/** A deleted key as a watch's delete event shows it: the key and the delete's revision, nothing else. */
function deletedAt(key: string, revision: bigint): KeyValue {
  return new KeyValue({
    key: fromByteString(key),
    value: new Uint8Array(0),
    createRevision: 0n,
    modRevision: revision,
    version: 0n,
    lease: 0n,
  } as KeyValuePb);
}

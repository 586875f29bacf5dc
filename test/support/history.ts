import { create } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { QueuedIterator } from "../../src/client/core/queued-iterator.js";
import type { HeadersInit } from "../../src/client/transport/headers-init.js";
import type { WatchBatch } from "../../src/client/watch/types.js";
import { Watch, type WatchRequest, WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type Event, Event_EventType } from "../../src/gen/mvccpb/kv_pb.js";

/** One event as the history checker sees it: (revision, key) identifies it (a txn cannot touch a key twice). */
export interface HistoryEvent {
  readonly revision: bigint;
  readonly key: string;
  readonly type: "put" | "delete";
}

/** What {@link checkHistory} found. */
export interface HistoryReport {
  /** In the store's history, never delivered. */
  readonly lost: HistoryEvent[];
  /** Delivered more than once (each extra delivery listed). */
  readonly duplicated: HistoryEvent[];
  /** Delivered after an event that comes later in the store's history. */
  readonly outOfOrder: HistoryEvent[];
  /** Delivered but not in the store's history (wrong range, or invented). */
  readonly unexpected: HistoryEvent[];
  /** True when all four lists are empty. */
  readonly ok: boolean;
}

const dec = new TextDecoder();

/** Converts etcd's raw events (the reference read) to {@link HistoryEvent}s. */
export function toHistoryEvents(events: readonly Event[]): HistoryEvent[] {
  return events.map((e) => ({
    revision: e.kv?.modRevision ?? 0n,
    key: dec.decode(e.kv?.key ?? new Uint8Array()),
    type: e.type === Event_EventType.DELETE ? "delete" : "put",
  }));
}

/** Records every event one watcher delivered, in delivery order. */
export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  /** Batches seen, progress and resync ones included. */
  batches = 0;

  /** Adds one delivered batch. */
  record(batch: WatchBatch): void {
    this.batches++;
    for (const e of batch.events)
      this.events.push({ revision: e.kv.modRevision, key: e.kv.keyText(), type: e.type });
  }

  /** Events up to and including `revision`. */
  upTo(revision: bigint): HistoryEvent[] {
    return this.events.filter((e) => e.revision <= revision);
  }
}

function id(e: HistoryEvent): string {
  return `${e.revision}:${e.key}`;
}

/** Compares what a watcher delivered with the store's history: lost, duplicated, out-of-order, unexpected. */
export function checkHistory(
  expected: readonly HistoryEvent[],
  delivered: readonly HistoryEvent[],
): HistoryReport {
  const position = new Map<string, number>();
  for (const [i, e] of expected.entries()) position.set(id(e), i);
  const seen = new Set<string>();
  const duplicated: HistoryEvent[] = [];
  const outOfOrder: HistoryEvent[] = [];
  const unexpected: HistoryEvent[] = [];
  let highest = -1;
  for (const e of delivered) {
    const key = id(e);
    if (seen.has(key)) {
      duplicated.push(e);
      continue;
    }
    seen.add(key);
    const at = position.get(key);
    if (at === undefined) {
      unexpected.push(e);
      continue;
    }
    if (at < highest) outOfOrder.push(e);
    else highest = at;
  }
  const lost = expected.filter((e) => !seen.has(id(e)));
  const ok = lost.length + duplicated.length + outOfOrder.length + unexpected.length === 0;
  return { lost, duplicated, outOfOrder, unexpected, ok };
}

/** A one-line summary of a report, for assertion messages. */
export function describeReport(r: HistoryReport): string {
  const show = (l: HistoryEvent[]) => l.slice(0, 5).map(id).join(", ");
  return `lost ${r.lost.length} [${show(r.lost)}], duplicated ${r.duplicated.length} [${show(r.duplicated)}], out of order ${r.outOfOrder.length} [${show(r.outOfOrder)}], unexpected ${r.unexpected.length} [${show(r.unexpected)}]`;
}

/**
 * Reads the store's own history of `[key, rangeEnd)` from `fromRevision` up to `toRevision` (an event at
 * `toRevision` must exist in the range, e.g. a sentinel put) with a fresh, plain watch stream: a reference
 * that owes nothing to the client's watch code. `headers` carry a token when auth is on.
 */
export async function readHistory(
  transport: Transport,
  range: { key: Uint8Array; rangeEnd: Uint8Array; fromRevision: bigint; toRevision: bigint },
  options: { timeoutMs?: number; headers?: HeadersInit } = {},
): Promise<HistoryEvent[]> {
  const requests = new QueuedIterator<WatchRequest>();
  requests.push(
    create(WatchRequestSchema, {
      requestUnion: {
        case: "createRequest",
        value: { key: range.key, rangeEnd: range.rangeEnd, startRevision: range.fromRevision },
      },
    }),
  );
  const signal = AbortSignal.timeout(options.timeoutMs ?? 20_000);
  const out: HistoryEvent[] = [];
  try {
    for await (const r of createClient(Watch, transport).watch(requests, {
      signal,
      headers: options.headers,
    })) {
      if (r.canceled)
        throw new Error(`history read canceled: ${r.cancelReason} (compacted at ${r.compactRevision})`);
      out.push(...toHistoryEvents(r.events));
      if (out.length > 0 && out[out.length - 1]!.revision >= range.toRevision) break;
    }
  } finally {
    requests.end();
  }
  return out.filter((e) => e.revision <= range.toRevision);
}

import type { RangeResponse } from "../../gen/etcdserverpb/rpc_pb.js";
import { isUnavailable } from "../core/failure.js";
import { type KeyValue, wrapAll } from "./key-value.js";
import type { RangeRequestInit } from "./requests.js";

/** Where a {@link scanRange} reads from: the client's call path, or a fake in specs. */
export interface RangeSource {
  /** One `Range` call (deadline, retries and failover as any read). */
  page(request: RangeRequestInit): Promise<RangeResponse>;
  /**
   * `request` as a `RangeStream` on an endpoint whose server has it (etcd >= 3.7, by its version): the
   * chunks in order, or undefined when the endpoint's server lacks it (the scan pages instead). Errors are
   * typed `EtcdError`s; an UNAVAILABLE one while chunks flow (the connection broke) lets the scan resume.
   */
  stream(request: RangeRequestInit): Promise<AsyncIterable<RangeResponse> | undefined>;
}

/** Sizes of a {@link scanRange}. */
export interface ScanSizes {
  /** Keys of the first request, and of every page when the server has no RangeStream. */
  pageSize: bigint;
  /** Most keys in total; 0n for all of them. */
  limit: bigint;
}

/**
 * Reads a range of any size at one revision, in key order, as batches of keys; returns the revision it
 * was read at. The first request is one `Range` of `pageSize` keys: it answers a small range alone and
 * fixes the revision (the store's at that moment, unless `base` names one). The rest comes as one
 * `RangeStream` at that revision where the endpoint's server has it, else page by page (each page
 * starting just after the last key seen). A stream that breaks is resumed after its last key at the same
 * revision, on a stream or pages as the next endpoint allows, so the keys are the same either way.
 */
export async function* scanRange(
  source: RangeSource,
  base: RangeRequestInit,
  sizes: ScanSizes,
): AsyncGenerator<KeyValue[], bigint, undefined> {
  // Both paths read in key order: RangeStream refuses other orders, and paging needs this one.
  const plain: RangeRequestInit = { ...base, sortOrder: undefined, sortTarget: undefined };
  const streamable = canStream(plain);
  const { pageSize, limit } = sizes;
  let revision = plain.revision ? plain.revision : 0n;
  let key = plain.key;
  let delivered = 0n;
  let first = true;
  let streaming = streamable;
  for (;;) {
    const remaining = limit === 0n ? 0n : limit - delivered;
    if (!first && streaming) {
      const chunks = await source.stream({ ...plain, key, revision, limit: remaining });
      if (chunks === undefined) streaming = false;
      else {
        try {
          for await (const chunk of chunks) {
            const last = chunk.kvs[chunk.kvs.length - 1];
            if (last === undefined) continue;
            key = after(last.key);
            delivered += BigInt(chunk.kvs.length);
            yield wrapAll(chunk.kvs);
            if (limit !== 0n && delivered >= limit) return revision;
          }
          return revision;
        } catch (err) {
          // The connection broke: go on after the last key delivered, at the same revision.
          if (!isUnavailable(err)) throw err;
          continue;
        }
      }
    }
    const page = await source.page({
      ...plain,
      key,
      revision: revision === 0n ? undefined : revision,
      limit: remaining === 0n || remaining > pageSize ? pageSize : remaining,
    });
    // A response's header carries the store's current revision: the first one fixes the revision read.
    if (first) revision ||= page.header?.revision ?? 0n;
    first = false;
    const last = page.kvs[page.kvs.length - 1];
    if (last !== undefined) {
      delivered += BigInt(page.kvs.length);
      yield wrapAll(page.kvs);
    }
    if (!page.more || last === undefined || (limit !== 0n && delivered >= limit)) return revision;
    key = after(last.key);
  }
}

/** RangeStream refuses (UNIMPLEMENTED) revision filters and other sort orders; count-only needs no stream. */
function canStream(request: RangeRequestInit): boolean {
  return (
    !request.countOnly &&
    !request.minModRevision &&
    !request.maxModRevision &&
    !request.minCreateRevision &&
    !request.maxCreateRevision
  );
}

/** The smallest key after `key`: the next page or stream starts there. */
function after(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1);
  next.set(key);
  return next;
}

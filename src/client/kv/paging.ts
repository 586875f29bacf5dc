import type { RangeResponse } from "../../gen/etcdserverpb/rpc_pb.js";
import { KeyValue } from "./key-value.js";
import type { RangeRequestInit } from "./requests.js";

/**
 * Pages through a range of any size at one revision: the first page fixes the revision (unless the
 * request names one), every next page starts just after the last key seen. Results come in key order.
 */
export async function* pageRange(
  fetchPage: (request: RangeRequestInit) => Promise<RangeResponse>,
  base: RangeRequestInit,
  pageSize: bigint,
): AsyncGenerator<KeyValue, void, undefined> {
  let request: RangeRequestInit = { ...base, limit: pageSize, sortOrder: undefined, sortTarget: undefined };
  for (;;) {
    const res = await fetchPage(request);
    for (const kv of res.kvs) yield new KeyValue(kv);
    const last = res.kvs[res.kvs.length - 1];
    if (!res.more || last === undefined) return;
    const next = new Uint8Array(last.key.length + 1);
    next.set(last.key);
    // A response's header carries the store's current revision, not the one read: fix it once.
    const revision = request.revision ? request.revision : res.header?.revision;
    request = { ...request, key: next, revision };
  }
}

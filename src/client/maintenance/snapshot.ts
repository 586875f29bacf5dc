import { Code } from "@connectrpc/connect";
import { Maintenance, type SnapshotResponse } from "../../gen/etcdserverpb/rpc_pb.js";
import type { AdminContext } from "../call/admin-context.js";
import type { EndpointChannel } from "../call/endpoint-channel.js";
import {
  AbortedError,
  ClientClosedError,
  DeadlineExceededError,
  nameRefusedCall,
  toEtcdError,
} from "../core/errors.js";
import { anySignal } from "../core/signals.js";
import { checkNumber } from "../core/validation.js";
import type { SnapshotOptions } from "./types.js";

async function* once<T>(value: T): AsyncIterable<T> {
  yield value;
}

/** A snapshot stream whose first answer arrived. */
interface OpenedSnapshot {
  channel: EndpointChannel;
  token: string | undefined;
  iterator: AsyncIterator<SnapshotResponse>;
  first: IteratorResult<SnapshotResponse>;
}

/**
 * Streams a snapshot of one member's backend as raw chunks (the bytes of a `.db` file etcdctl can
 * read, its SHA-256 at the end). Opening runs through the client's call path (auth, retries as
 * RETRY_TABLE allows for `Snapshot`, on the next endpoint unless `endpoint` is set) until the first
 * chunk arrives; a stream broken after that fails.
 */
export async function* snapshotChunks(
  ctx: AdminContext,
  options: SnapshotOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  checkNumber(options.timeoutMs, "timeoutMs", 1);
  if (ctx.closed.aborted) throw new ClientClosedError();
  // `done` ends the stream when the consumer stops early.
  const done = new AbortController();
  const limit = anySignal([ctx.closed, done.signal, options.signal], options.timeoutMs);
  const signal = limit.signal;
  try {
    let opened: OpenedSnapshot;
    try {
      // A member's own backend: answered without a leader.
      const spec = {
        method: Maintenance.method.snapshot,
        options: { signal, ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}) },
        hasleader: false,
      };
      opened = await ctx.caller.run(spec, async (channel) => {
        const stream = await channel.open(spec, once({}), signal);
        const iterator = stream.messages[Symbol.asyncIterator]();
        try {
          return { channel, token: stream.token, iterator, first: await iterator.next() };
        } catch (err) {
          throw channel.failure(err, stream.token);
        }
      });
    } catch (err) {
      throwIfStopped(ctx, options, signal, err);
      // Snapshot needs the root role; the caller's run() does not know which RPC it ran.
      throw nameRefusedCall(toEtcdError(err), "Maintenance/Snapshot");
    }
    try {
      for (let r = opened.first; !r.done; r = await opened.iterator.next())
        if (r.value.blob.length > 0) yield r.value.blob;
    } catch (err) {
      throwIfStopped(ctx, options, signal, err);
      throw opened.channel.failure(err, opened.token);
    }
  } finally {
    done.abort();
  }
}

/** Turns a stop by the client closing, the caller's signal or the deadline into its typed error. */
function throwIfStopped(
  ctx: AdminContext,
  options: SnapshotOptions,
  signal: AbortSignal,
  cause: unknown,
): void {
  if (ctx.closed.aborted) throw new ClientClosedError();
  if (options.signal?.aborted)
    throw new AbortedError("the snapshot was aborted", { code: Code.Canceled, cause });
  if (signal.aborted)
    throw new DeadlineExceededError(`snapshot deadline of ${options.timeoutMs} ms exceeded`, {
      code: Code.DeadlineExceeded,
      cause,
    });
}

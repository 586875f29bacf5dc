import { Code } from "@connectrpc/connect";
import { KV, type RangeResponse, type RangeStreamResponse } from "../../gen/etcdserverpb/rpc_pb.js";
import type { UnaryCaller } from "../call/caller.js";
import type { EndpointChannel } from "../call/endpoint-channel.js";
import type { ConnectionPool } from "../call/pool.js";
import type { CallOptions } from "../call-options.js";
import {
  AbortedError,
  ClientClosedError,
  DeadlineExceededError,
  type EtcdError,
  InvalidAuthTokenError,
  UnavailableError,
} from "../core/errors.js";
import { isUnavailable } from "../core/failure.js";
import { anySignal, type CombinedSignal } from "../core/signals.js";
import type { RangeRequestInit } from "./requests.js";

/** What opening a RangeStream needs from the client. */
export interface RangeStreamContext {
  /** The client's call path: the open runs through its retry loop (deadline, failover, typed errors). */
  readonly caller: UnaryCaller;
  /** For marking an endpoint failed when its stream breaks after the open. */
  readonly pool: ConnectionPool;
  /** Aborted when the client closes. */
  readonly closed: AbortSignal;
  /** The client's `timeoutMs`, for calls that set none. */
  readonly timeoutMs: number;
}

/** A RangeStream whose first answer arrived, with what is needed to read and end it. */
interface OpenedRangeStream {
  channel: EndpointChannel;
  token: string | undefined;
  iterator: AsyncIterator<RangeStreamResponse>;
  first: IteratorResult<RangeStreamResponse>;
  stop: AbortController;
  signal: CombinedSignal;
}

async function* once<T>(value: T): AsyncIterable<T> {
  yield value;
}

/**
 * Opens `request` as a `KV/RangeStream` (etcd >= 3.7) on an endpoint whose server has it, and returns its
 * chunks' `RangeResponse`s in order; undefined when the endpoint's server lacks it: by its version
 * (asked once per connection, see `EndpointServer`), or because it answered UNIMPLEMENTED although its
 * version has it (a gRPC proxy in front of it), which is remembered for the connection.
 *
 * The open (version lookup, stream, first chunk) runs through the client's retry loop as an idempotent
 * read within `timeoutMs`; a token refused at the open is refreshed once. After that each chunk must
 * arrive within `timeoutMs` (else `DeadlineExceededError`); a broken stream fails with the typed error
 * (UNAVAILABLE when the connection went) and marks its endpoint failed. Ending the iteration early (or
 * `signal`, or the client closing) cancels the stream; so does a reader that asks for no chunk for
 * `timeoutMs` (the next read then fails with UNAVAILABLE, which a scan resumes from).
 */
export async function openRangeStream(
  ctx: RangeStreamContext,
  request: RangeRequestInit,
  options: CallOptions | undefined,
): Promise<AsyncGenerator<RangeResponse, void, undefined> | undefined> {
  const timeoutMs = options?.timeoutMs ?? ctx.timeoutMs;
  const spec = { method: KV.method.rangeStream, options };
  const opened = await ctx.caller.run(spec, async (channel, remainingMs) => {
    const started = Date.now();
    if (!(await channel.server.supports("rangeStream", options?.signal, remainingMs))) return undefined;
    for (let refreshed = false; ; refreshed = true) {
      try {
        const waitMs = Math.max(1, remainingMs - (Date.now() - started));
        return await open(ctx, channel, request, options, waitMs);
      } catch (err) {
        const error = err as EtcdError;
        if (error.code === Code.Unimplemented) {
          channel.server.refused("rangeStream");
          return undefined;
        }
        // As a unary call does: a token the server refused is replaced once (open() dropped it).
        if (refreshed || !(error instanceof InvalidAuthTokenError) || !channel.tokenRefreshable) throw error;
      }
    }
  });
  return opened === undefined ? undefined : chunks(ctx, opened, options, timeoutMs);
}

/** Opens the stream on `channel` and waits up to `waitMs` for its first answer. Rejects typed. */
async function open(
  ctx: RangeStreamContext,
  channel: EndpointChannel,
  request: RangeRequestInit,
  options: CallOptions | undefined,
  waitMs: number,
): Promise<OpenedRangeStream> {
  const stop = new AbortController();
  const signal = anySignal([ctx.closed, options?.signal, stop.signal]);
  let token: string | undefined;
  const timer = setTimeout(() => stop.abort(deadline(waitMs, channel.endpoint)), waitMs);
  timer.unref?.();
  try {
    // Serializable reads are answered locally and exist to work without a leader.
    const spec = {
      method: KV.method.rangeStream,
      options,
      ...(request.serializable ? { hasleader: false } : {}),
    };
    const stream = await channel.open(spec, once(request), signal.signal);
    token = stream.token;
    const iterator = stream.messages[Symbol.asyncIterator]();
    const first = await iterator.next();
    return { channel, token, iterator, first, stop, signal };
  } catch (err) {
    stop.abort();
    signal.dispose();
    throw typed(ctx, channel, token, stop, options, err);
  } finally {
    clearTimeout(timer);
  }
}

/** The chunks of an opened stream, each within `timeoutMs`; cancels the stream when iteration ends. */
async function* chunks(
  ctx: RangeStreamContext,
  opened: OpenedRangeStream,
  options: CallOptions | undefined,
  timeoutMs: number,
): AsyncGenerator<RangeResponse, void, undefined> {
  const { channel, token, iterator, stop } = opened;
  try {
    let next = opened.first;
    for (;;) {
      if (next.done) return;
      const chunk = next.value.rangeResponse;
      if (chunk !== undefined) {
        // While the reader works on a chunk the stream waits, holding its connection (and the process).
        // A reader idle for timeoutMs, or one that dropped the iterator, lets it go; reading on resumes.
        const idle = setTimeout(() => {
          stop.abort(released(timeoutMs, channel.endpoint));
          opened.signal.dispose();
        }, timeoutMs);
        idle.unref?.();
        try {
          yield chunk;
        } finally {
          clearTimeout(idle);
        }
        if (stop.signal.reason instanceof RangeStreamReleasedError) throw stop.signal.reason;
      }
      const timer = setTimeout(() => stop.abort(deadline(timeoutMs, channel.endpoint)), timeoutMs);
      timer.unref?.();
      try {
        next = await iterator.next();
      } catch (err) {
        const error = typed(ctx, channel, token, stop, options, err);
        if (isUnavailable(error) || error.code === Code.DeadlineExceeded)
          ctx.pool.markFailed(channel.endpoint, error);
        throw error;
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    stop.abort();
    opened.signal.dispose();
  }
}

/** The error a stream failure stands for: the client closing, the caller's abort, our deadline, or the server's. */
function typed(
  ctx: RangeStreamContext,
  channel: EndpointChannel,
  token: string | undefined,
  stop: AbortController,
  options: CallOptions | undefined,
  err: unknown,
): EtcdError {
  if (ctx.closed.aborted) return new ClientClosedError();
  if (options?.signal?.aborted)
    return new AbortedError("the call was aborted", { code: Code.Canceled, cause: err });
  if (stop.signal.reason instanceof DeadlineExceededError) return stop.signal.reason;
  return channel.failure(err, token);
}

/**
 * The stream was let go while its reader was idle: UNAVAILABLE, so a scan resumes after its last key
 * (on a new stream), without counting it against the endpoint.
 */
class RangeStreamReleasedError extends UnavailableError {}

function released(ms: number, endpoint: string): RangeStreamReleasedError {
  return new RangeStreamReleasedError(`the RangeStream was released after ${ms} ms without a reader`, {
    code: Code.Unavailable,
    endpoint,
  });
}

function deadline(ms: number, endpoint: string): DeadlineExceededError {
  return new DeadlineExceededError(`no RangeStream answer within ${ms} ms`, {
    code: Code.DeadlineExceeded,
    endpoint,
  });
}

import { Code } from "@connectrpc/connect";
import { Maintenance } from "../../gen/etcdserverpb/rpc_pb.js";
import type { AdminContext } from "../connection/admin-context.js";
import { backoffDelay } from "../connection/backoff.js";
import { retryKindOfMethod, shouldRetry } from "../connection/retry.js";
import { sleep } from "../connection/sleep.js";
import type { EndpointTransport } from "../connection/transport-pool.js";
import {
  AbortedError,
  ClientClosedError,
  DeadlineExceededError,
  InvalidAuthTokenError,
  toEtcdError,
} from "../errors.js";
import { checkNumber } from "../validation.js";
import type { SnapshotOptions } from "./types.js";

/** Deadline of the `Authenticate` a snapshot may need first (the transfer itself has its own). */
const AUTHENTICATE_TIMEOUT_MS = 10_000;

async function* once<T>(value: T): AsyncIterable<T> {
  yield value;
}

/**
 * Streams a snapshot of one member's backend as raw chunks (the bytes of a `.db` file etcdctl can
 * read, its SHA-256 at the end). Opening is retried as RETRY_TABLE allows for `Snapshot` (on the next
 * endpoint unless `endpoint` is set) until the first chunk arrives; a stream broken after that fails.
 */
export async function* snapshotChunks(
  ctx: AdminContext,
  options: SnapshotOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  checkNumber(options.timeoutMs, "timeoutMs", 1);
  if (ctx.closed.aborted) throw new ClientClosedError();
  const signals = [ctx.closed];
  if (options.signal) signals.push(options.signal);
  if (options.timeoutMs !== undefined) signals.push(AbortSignal.timeout(options.timeoutMs));
  const signal = AbortSignal.any(signals);
  const pool = ctx.pool;
  const kind = retryKindOfMethod(Maintenance.method.snapshot);
  let attempt = 1;
  let reauthenticated = false;
  for (;;) {
    let target: EndpointTransport | undefined;
    let token: string | undefined;
    let received = false;
    try {
      target = options.endpoint === undefined ? pool.pick() : pool.connectionFor(options.endpoint);
      if (pool.auth)
        token = pool.auth.current ?? (await pool.auth.obtain(target, signal, AUTHENTICATE_TIMEOUT_MS));
      const res = await target.transport.stream(
        Maintenance.method.snapshot,
        signal,
        undefined,
        pool.headers(false),
        once({}),
      );
      for await (const chunk of res.message) {
        received = true;
        if (chunk.blob.length > 0) yield chunk.blob;
      }
      return;
    } catch (err) {
      throwIfStopped(ctx, options, signal, err);
      if (received || target === undefined) throw toEtcdError(err, target?.endpoint);
      const error = toEtcdError(err, target.endpoint);
      if (pool.auth && !reauthenticated && error instanceof InvalidAuthTokenError) {
        reauthenticated = true;
        pool.auth.invalidate(token);
        continue;
      }
      const raw = error.cause ?? err;
      if (attempt >= ctx.maxAttempts || !shouldRetry(kind, raw)) throw error;
      pool.markFailed(target.endpoint);
      await sleep(backoffDelay(attempt, ctx.backoff), signal, undefined);
      if (signal.aborted) throwIfStopped(ctx, options, signal, error);
      attempt++;
    }
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

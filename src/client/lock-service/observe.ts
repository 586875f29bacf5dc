import { Code } from "@connectrpc/connect";
import { Election, type LeaderResponse } from "../../gen/v3electionpb/v3election_pb.js";
import type { CallOptions } from "../call-options.js";
import {
  AbortedError,
  AuthRequiredError,
  ClientClosedError,
  type EtcdError,
  nameRefusedCall,
  PermissionDeniedError,
  toEtcdError,
  UnavailableError,
} from "../core/errors.js";
import { anySignal } from "../core/signals.js";
import { KeyValue } from "../kv/key-value.js";
import type { LockServiceContext } from "./context.js";
import { fromWire } from "./inputs.js";

/** Options of `electionService.observe()`. */
export interface ObserveOptions {
  /** Ends the observation: the loop then throws `AbortedError`. Default none. */
  signal?: AbortSignal | undefined;
  /**
   * Deadline for opening the stream, ms (not for the observation, which lasts until stopped). Default:
   * the client's `timeoutMs`.
   */
  timeoutMs?: number | undefined;
  /** gRPC metadata sent with the stream (as {@link CallOptions.metadata}). Default none. */
  metadata?: Record<string, string> | undefined;
}

async function* once<T>(value: T): AsyncIterable<T> {
  yield value;
}

/**
 * The leader's key-value of election `name` (wire bytes; `options` already checked), then every change of leader or value, as the
 * server's `Election/Observe` stream sends them. Opening runs through the client's call path (auth,
 * retries of an idempotent call); a stream that breaks later fails with its typed error. The process is
 * held while the observation is open; the client closing ends it with `ClientClosedError`.
 *
 * The member ends the stream with status OK whenever its own read or watch of the election fails (a user
 * without read rights on the name, a compaction, ...): the refusal is not sent. Such an end is never
 * taken for a normal one: `probe` (a `Leader` call) then finds the reason, a refusal is rethrown naming
 * `Election/Observe`, anything else becomes an `UnavailableError` (observe again).
 */
export async function* observeLeader(
  ctx: LockServiceContext,
  name: Uint8Array,
  options: ObserveOptions,
  probe: () => Promise<unknown>,
): AsyncGenerator<KeyValue, void, undefined> {
  const stop = new AbortController();
  const release = ctx.attach(() => stop.abort(new ClientClosedError()));
  const stream = anySignal([stop.signal, options.signal]);
  const spec = { method: Election.method.observe, options };
  let failure: ((err: unknown) => unknown) | undefined;
  try {
    const iterator = await ctx.caller.run(spec, async (channel) => {
      const opened = await channel.open(spec, once({ name }), stream.signal);
      failure = (err) => channel.failure(err, opened.token);
      return opened.messages[Symbol.asyncIterator]() as AsyncIterator<LeaderResponse>;
    });
    for (;;) {
      const next = await iterator.next();
      if (next.done) throw await endedByServer(probe);
      const kv = next.value.kv;
      if (kv !== undefined) yield new KeyValue({ ...kv, key: fromWire(ctx.keys, kv.key) });
    }
  } catch (err) {
    if (ctx.closed.aborted || stop.signal.reason instanceof ClientClosedError) throw new ClientClosedError();
    if (options.signal?.aborted)
      throw new AbortedError("the observation was aborted", { code: Code.Canceled, cause: err });
    if (err instanceof EndedByServer) throw err.error;
    // caller.run() does not know which RPC it ran: name it in a refusal.
    throw nameRefusedCall(toEtcdError(failure ? failure(err) : err), "Election/Observe");
  } finally {
    stop.abort();
    stream.dispose();
    release();
  }
}

/** The reason found for a stream the member ended, carried past the generic failure handling. */
class EndedByServer {
  constructor(readonly error: EtcdError) {}
}

/** Why the member ended an observation: a refusal of the probe, named as Observe's, or UNAVAILABLE. */
async function endedByServer(probe: () => Promise<unknown>): Promise<EndedByServer> {
  const refusal = await probe().then(
    () => undefined,
    (err: unknown) => toEtcdError(err),
  );
  if (refusal instanceof PermissionDeniedError) {
    const Refusal = refusal instanceof AuthRequiredError ? AuthRequiredError : PermissionDeniedError;
    return new EndedByServer(
      new Refusal(refusal.serverMessage, {
        code: refusal.code,
        endpoint: refusal.endpoint,
        cause: refusal,
        rpc: "Election/Observe",
      }),
    );
  }
  return new EndedByServer(
    new UnavailableError(
      "the member ended the Election/Observe stream (its read or watch of the election failed); observe again",
      { code: Code.Unavailable, endpoint: refusal?.endpoint, cause: refusal },
    ),
  );
}

import type { DescMessage, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { TargetedCallOptions } from "../call-options.js";
import type { UnaryCaller } from "./caller.js";
import type { ConnectionPool } from "./pool.js";
import { retryKindOfMethod } from "./retry.js";

/** What the admin APIs (cluster, maintenance, auth) share with the client that owns them. */
export interface AdminContext {
  /** The client's unary call path (deadlines, retries, re-authentication, typed errors). */
  readonly caller: UnaryCaller;
  /** The client's connections, for endpoint checks. */
  readonly pool: ConnectionPool;
  /** The client's `requireLeader` option. */
  readonly requireLeader: boolean;
  /** Aborted when the client closes. */
  readonly closed: AbortSignal;
}

/**
 * Runs a unary admin call with the retry kind RETRY_TABLE gives its method, so every admin RPC
 * follows the documented table (reads retried, changes only when never sent).
 */
export function callByTable<I extends DescMessage, O extends DescMessage>(
  ctx: AdminContext,
  method: DescMethodUnary<I, O>,
  input: MessageInitShape<I>,
  options: TargetedCallOptions | undefined,
  requireLeader: boolean,
  answeredBy?: { endpoint?: string },
): Promise<MessageShape<O>> {
  return ctx.caller.call(method, input, retryKindOfMethod(method), options, requireLeader, answeredBy);
}

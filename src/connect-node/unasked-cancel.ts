import { Code, ConnectError } from "@connectrpc/connect";

/**
 * What a call's Canceled means when neither its caller's signal nor the transport's `close()` cancelled
 * it: node:http2 reports streams of a dropped connection as reset with CANCEL (the server went away:
 * Unavailable), and etcd resets a call with CANCEL when its `grpc-timeout` runs out, which on a busy event
 * loop can come before connect-node's own timer: once the call's `deadline` (a `performance.now()` value)
 * is past at `now`, the call failed by its deadline (DeadlineExceeded, as grpc-go and the default transport
 * say).
 */
export function unaskedCancel(
  canceled: ConnectError,
  deadline: number | undefined,
  now: number,
): ConnectError {
  if (deadline !== undefined && now >= deadline)
    return new ConnectError(
      "the operation timed out",
      Code.DeadlineExceeded,
      canceled.metadata,
      undefined,
      canceled,
    );
  return new ConnectError(canceled.rawMessage, Code.Unavailable, canceled.metadata, undefined, canceled);
}

/** When a call with `timeoutMs` runs out (a `performance.now()` value); undefined without one. */
export function deadlineOf(timeoutMs: number | undefined): number | undefined {
  return timeoutMs === undefined || timeoutMs <= 0 ? undefined : performance.now() + timeoutMs;
}

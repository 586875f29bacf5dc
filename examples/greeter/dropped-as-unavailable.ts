import { Code, ConnectError, type Transport } from "@connectrpc/connect";

/** Node error codes `@connectrpc/connect-node` reports as ABORTED when a connection or stream drops. */
const DROPPED = new Set(["ECONNRESET", "ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM"]);

/**
 * Reports a dropped connection as UNAVAILABLE, the code gRPC's own clients use for it and the one the
 * balanced transport retries (for methods it is allowed to retry). `@connectrpc/connect-node` reports a
 * drop in two other ways, seen when the demo SIGKILLs a server just as a call goes out:
 * - ABORTED with a Node error (ECONNRESET, a destroyed stream) as its cause: its server side's mapping,
 *   where such an error means the client hung up;
 * - CANCELED from the HTTP/2 stream's reset code CANCEL, which Node sets on the streams of a session
 *   that died; nothing came from the server (no headers, no trailers), so it is not a server's status.
 *
 * A call whose caller aborted it stays as it is.
 */
export function droppedAsUnavailable(transport: Transport): Transport {
  const translate = (err: unknown, signal: AbortSignal | undefined): unknown => {
    const ce = ConnectError.from(err);
    if (signal?.aborted) return err;
    const dropped =
      (ce.code === Code.Aborted && causedByDrop(ce)) || (ce.code === Code.Canceled && isEmpty(ce.metadata));
    return dropped ? new ConnectError(ce.rawMessage, Code.Unavailable, ce.metadata, undefined, ce) : err;
  };
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      try {
        return await transport.unary(method, signal, timeoutMs, header, input, contextValues);
      } catch (err) {
        throw translate(err, signal);
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      try {
        return await transport.stream(method, signal, timeoutMs, header, input, contextValues);
      } catch (err) {
        throw translate(err, signal);
      }
    },
  };
}

function causedByDrop(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && DROPPED.has(code)) return true;
  }
  return false;
}

function isEmpty(headers: Headers): boolean {
  let empty = true;
  headers.forEach(() => {
    empty = false;
  });
  return empty;
}

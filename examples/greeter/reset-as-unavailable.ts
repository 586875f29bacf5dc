import { Code, ConnectError, type Transport } from "@connectrpc/connect";

/** Node error codes `@connectrpc/connect-node` reports as ABORTED when a connection or stream drops. */
const DROPPED = new Set(["ECONNRESET", "ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM"]);

/**
 * Reports a dropped connection as UNAVAILABLE. `@connectrpc/connect-node` maps ECONNRESET and destroyed
 * streams to ABORTED (for its server side, where they mean the client hung up); for a client they mean
 * the server's connection dropped, which gRPC's own clients report as UNAVAILABLE, the code the balanced
 * transport retries (for methods it is allowed to retry). A call the caller aborted stays as it is.
 */
export function resetAsUnavailable(transport: Transport): Transport {
  const translate = (err: unknown, signal: AbortSignal | undefined): unknown => {
    const ce = ConnectError.from(err);
    if (ce.code !== Code.Aborted || signal?.aborted || !causedByDrop(ce)) return err;
    return new ConnectError(ce.rawMessage, Code.Unavailable, ce.metadata, undefined, ce);
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

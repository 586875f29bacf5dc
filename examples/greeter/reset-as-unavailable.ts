import { Code, ConnectError, type Transport } from "@connectrpc/connect";

/**
 * Reports a connection reset as UNAVAILABLE. `@connectrpc/connect-node` maps ECONNRESET to ABORTED (for
 * its server side, where a reset means the client hung up); for a client, a reset means the server's
 * connection dropped, which gRPC's own clients report as UNAVAILABLE, the code the balanced transport
 * retries (for methods it is allowed to retry).
 */
export function resetAsUnavailable(transport: Transport): Transport {
  const translate = (err: unknown): unknown => {
    const ce = ConnectError.from(err);
    if (ce.code !== Code.Aborted || !causedByReset(ce)) return err;
    return new ConnectError(ce.rawMessage, Code.Unavailable, ce.metadata, undefined, ce);
  };
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      try {
        return await transport.unary(method, signal, timeoutMs, header, input, contextValues);
      } catch (err) {
        throw translate(err);
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      try {
        return await transport.stream(method, signal, timeoutMs, header, input, contextValues);
      } catch (err) {
        throw translate(err);
      }
    },
  };
}

function causedByReset(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === "ECONNRESET") return true;
  }
  return false;
}

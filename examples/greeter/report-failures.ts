import type { Transport } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";

/**
 * Wraps one instance's transport so that every failed unary attempt is reported: the balanced transport
 * retries such an attempt on another instance, so the caller never sees it, and the demo wants to show it.
 */
export function reportFailures(
  transport: Transport & { close?(): Promise<void> },
  onFailure: (err: ConnectError) => void,
): Transport & { close?(): Promise<void> } {
  return {
    // The balanced transport closes instance transports that have close(): pass it through.
    ...(transport.close ? { close: () => transport.close!() } : {}),
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      try {
        return await transport.unary(method, signal, timeoutMs, header, input, contextValues);
      } catch (err) {
        onFailure(ConnectError.from(err));
        throw err;
      }
    },
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      transport.stream(method, signal, timeoutMs, header, input, contextValues),
  };
}

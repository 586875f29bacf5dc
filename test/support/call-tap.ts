import type { Transport } from "@connectrpc/connect";
import { createDefaultTransport } from "../../src/client/call/default-transport.js";
import { type ClosableTransport, Etcd, type EtcdOptions } from "../../src/client/index.js";

/** One unary call seen by a {@link CallTap}. */
export interface TappedCall {
  /** The RPC's name, e.g. `LeaseGrant`, `Range`. */
  readonly method: string;
  /** When it was sent (`performance.now()`). */
  readonly at: number;
  /** The metadata the client handed to the transport (token, hasleader, the caller's). */
  readonly header: Headers;
  /** Set once it answered: true on success, the error otherwise. */
  outcome?: true | Error;
}

/**
 * Records every unary call a client makes, and every stream it opens, over the default transport (with
 * the client's own connection settings), so tests can count what a component really sent.
 */
export class CallTap {
  readonly calls: TappedCall[] = [];
  /** Streams opened (Watch, LeaseKeepAlive, Snapshot); `outcome` is not set for them. */
  readonly streams: TappedCall[] = [];

  /** Calls of `method`, optionally only those sent after `since` (`performance.now()`). */
  of(method: string, since = Number.NEGATIVE_INFINITY): TappedCall[] {
    return this.calls.filter((c) => c.method === method && c.at >= since);
  }

  /** A client whose unary calls are recorded here. */
  client(options: EtcdOptions): Etcd {
    const transport = (endpoint: Parameters<typeof createDefaultTransport>[0]): ClosableTransport => {
      const inner = createDefaultTransport(endpoint, {
        keepaliveIntervalMs: options.keepaliveIntervalMs ?? 10_000,
        keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 5_000,
        connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      });
      const tapped: Transport = {
        unary: async (method, signal, timeoutMs, header, input, ctx) => {
          const call: TappedCall = {
            method: method.name,
            at: performance.now(),
            header: new Headers(header),
          };
          this.calls.push(call);
          try {
            const res = await inner.unary(method, signal, timeoutMs, header, input, ctx);
            call.outcome = true;
            return res;
          } catch (err) {
            call.outcome = err instanceof Error ? err : new Error(String(err));
            throw err;
          }
        },
        stream: (method, signal, timeoutMs, header, input, ctx) => {
          this.streams.push({ method: method.name, at: performance.now(), header: new Headers(header) });
          return inner.stream(method, signal, timeoutMs, header, input, ctx);
        },
      };
      return Object.assign(tapped, { close: () => inner.close() });
    };
    return new Etcd({ ...options, transport });
  }
}

import type {
  DescMessage,
  DescMethod,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
} from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ContextValues,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { Etcd } from "../client/etcd.js";
import { wasNotSent } from "../client/transport/not-sent.js";
import { type DiscoverOptions, type Discovery, discover } from "./discovery.js";
import type { ServiceInstance } from "./instance.js";
import { type BalancePolicy, type PickCandidate, Picker } from "./picker.js";

/** Where a balanced transport learns its instances: a {@link Discovery} it does not own, or one it starts. */
export type BalancedTransportSource =
  | { discovery: Discovery }
  | { etcd: Etcd; service: string; discoverOptions?: Omit<DiscoverOptions, "signal"> };

/** Options of {@link createBalancedTransport}. */
export type BalancedTransportOptions = BalancedTransportSource & {
  /** Makes the transport of one instance (called once per address, reused while the instance stays). */
  createTransport: (addr: string, instance: ServiceInstance) => Transport;
  /** `"round-robin"` (smooth weighted) or `"p2c"` (power of two choices by calls in flight per weight). Default `"round-robin"`. */
  policy?: BalancePolicy;
  /**
   * Whether a unary call may be sent again on another instance after UNAVAILABLE. Default: the method's
   * `idempotency` option is `NO_SIDE_EFFECTS` or `IDEMPOTENT`. A call that provably never left
   * (`wasNotSent`) is always retried.
   */
  isRetryable?: (method: DescMethod) => boolean;
  /** Attempts per unary call, the first included, each on an instance not yet tried. Default 3. */
  maxAttempts?: number;
  /** How long a call waits for the first view, and for an instance to appear when there is none. Default 5000. */
  waitForInstanceMs?: number;
};

/**
 * A Connect `Transport` that spreads calls over the live, non-draining instances of a service. Use it
 * with `createClient(Service, transport)`; `close()` stops its own discovery (if it started one) and closes
 * the instance transports that have a `close()`.
 */
export interface BalancedTransport extends Transport, AsyncDisposable {
  /** Calls in flight by instance key. */
  inFlight(): Map<string, number>;
  /** Stops discovery (when owned) and closes instance transports. */
  close(): Promise<void>;
}

/** Creates a {@link BalancedTransport}. */
export function createBalancedTransport(options: BalancedTransportOptions): BalancedTransport {
  const owned =
    "discovery" in options ? undefined : discover(options.etcd, options.service, options.discoverOptions);
  const discovery = "discovery" in options ? options.discovery : owned!;
  const picker = new Picker(options.policy ?? "round-robin");
  const maxAttempts = options.maxAttempts ?? 3;
  const waitMs = options.waitForInstanceMs ?? 5000;
  const isRetryable = options.isRetryable ?? defaultRetryable;
  const transports = new Map<string, { addr: string; transport: Transport }>();
  const inFlight = new Map<string, number>();

  const transportOf = (key: string, instance: ServiceInstance): Transport => {
    let entry = transports.get(key);
    if (!entry || entry.addr !== instance.addr) {
      entry = { addr: instance.addr, transport: options.createTransport(instance.addr, instance) };
      transports.set(key, entry);
    }
    return entry.transport;
  };

  const dropGone = () => {
    const live = discovery.entries();
    picker.retain(new Set(live.keys()));
    for (const [key, entry] of transports) {
      if (live.has(key)) continue;
      transports.delete(key);
      // Calls in flight on it may still finish; close only transports that wait for them.
      if ((inFlight.get(key) ?? 0) === 0) closeQuietly(entry.transport);
    }
  };
  discovery.on("changes", dropGone);

  const candidates = (tried: ReadonlySet<string>): PickCandidate[] =>
    [...discovery.entries()]
      .filter(([key, i]) => !i.draining && !tried.has(key))
      .map(([key, instance]) => ({ key, instance, inFlight: inFlight.get(key) ?? 0 }));

  const track = (key: string, delta: number) => {
    const n = (inFlight.get(key) ?? 0) + delta;
    if (n > 0) inFlight.set(key, n);
    else inFlight.delete(key);
  };

  /** Picks an untried instance, waiting (bounded) for the view or for one to appear. */
  const pick = async (
    tried: ReadonlySet<string>,
    signal: AbortSignal | undefined,
  ): Promise<PickCandidate> => {
    const deadline = Date.now() + waitMs;
    await withDeadline(discovery.ready, deadline, signal);
    for (;;) {
      const chosen = picker.pick(candidates(tried));
      if (chosen) {
        // Counted at once, so that concurrent picks see it (p2c).
        track(chosen.key, 1);
        return chosen;
      }
      if (tried.size > 0 || Date.now() >= deadline) {
        throw new ConnectError(`no live instance of ${discovery.service}`, Code.Unavailable);
      }
      let wake: (() => void) | undefined;
      try {
        await withDeadline(
          new Promise<void>((resolve) => {
            wake = () => resolve();
            discovery.once("changes", wake);
          }),
          deadline,
          signal,
        );
      } finally {
        if (wake) discovery.off("changes", wake);
      }
    }
  };

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const tried = new Set<string>();
      for (let attempt = 1; ; attempt++) {
        const chosen = await pick(tried, signal);
        tried.add(chosen.key);
        try {
          return await transportOf(chosen.key, chosen.instance).unary(
            method,
            signal,
            timeoutMs,
            header,
            input,
            contextValues,
          );
        } catch (err) {
          const again =
            attempt < maxAttempts &&
            !signal?.aborted &&
            (wasNotSent(err) || (ConnectError.from(err).code === Code.Unavailable && isRetryable(method)));
          if (!again) throw err;
        } finally {
          track(chosen.key, -1);
        }
      }
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      // A stream is not retried: its request messages are consumed as they are sent.
      const chosen = await pick(new Set(), signal);
      let response: StreamResponse<I, O>;
      try {
        response = await transportOf(chosen.key, chosen.instance).stream(
          method,
          signal,
          timeoutMs,
          header,
          input,
          contextValues,
        );
      } catch (err) {
        track(chosen.key, -1);
        throw err;
      }
      const messages = response.message;
      return {
        ...response,
        message: (async function* () {
          try {
            yield* messages;
          } finally {
            track(chosen.key, -1);
          }
        })(),
      };
    },

    inFlight: () => new Map(inFlight),

    async close() {
      discovery.off("changes", dropGone);
      await owned?.close();
      for (const { transport } of transports.values()) closeQuietly(transport);
      transports.clear();
    },

    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

/** Retry by default only what the schema says is safe to run twice. */
function defaultRetryable(method: DescMethod): boolean {
  return (
    method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
    method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT
  );
}

function closeQuietly(transport: Transport): void {
  const close = (transport as { close?: () => unknown }).close;
  if (typeof close === "function") Promise.resolve(close.call(transport)).catch(() => {});
}

/** Awaits `promise`, failing with UNAVAILABLE at `deadline` and with CANCELED when `signal` aborts. */
async function withDeadline(promise: Promise<void>, deadline: number, signal: AbortSignal | undefined) {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ConnectError("no live instance in time", Code.Unavailable)),
          Math.max(0, deadline - Date.now()),
        );
        timer.unref();
        onAbort = () => reject(new ConnectError("operation was aborted", Code.Canceled));
        if (signal?.aborted) onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

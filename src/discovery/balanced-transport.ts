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
import {
  checkInteger,
  checkNumber,
  checkOptionsObject,
  classifyFailure,
  InvalidArgumentError,
  isUnavailableFailure,
  shownInput,
  untilAborted,
  waitSignal,
  wasNotSent,
} from "../client/core/index.js";
import type { EtcdPort } from "../client/port.js";
import type { HeadersInit } from "../client/transport/index.js";
import { type DiscoverOptions, type Discovery, discover, type InstanceChange } from "./discovery.js";
import { checkProtocol, endpointOf, GRPC_PROTOCOL } from "./endpoints.js";
import { callHashKey } from "./hash-key.js";
import { type HealthCheckOptions, healthCheckSettings, InstanceHealthCheck } from "./health-check.js";
import type { ServiceInstance } from "./instance.js";
import { type LocalityOptions, localitySettings } from "./locality.js";
import {
  callOutcome,
  callVerdict,
  type OutlierDetectionOptions,
  outlierDetectionSettings,
} from "./outlier-detection.js";
import type { BalancePolicy, PickRequest } from "./pick-policy.js";
import { PickPool, type PoolMember } from "./pick-pool.js";
import { Picker } from "./picker.js";
import type { P2cEwmaOptions } from "./policies/p2c-ewma.js";
import { type RingHashOptions, ringHashSettings } from "./policies/ring-hash.js";
import { changesForProtocol } from "./protocol-view.js";
import { type SlowStartOptions, slowStartSettings } from "./slow-start.js";

/** Where a balanced transport learns its instances: a {@link Discovery} it does not own, or one it starts. */
export type BalancedTransportSource =
  | { discovery: Discovery }
  | { etcd: EtcdPort; service: string; discoverOptions?: Omit<DiscoverOptions, "signal"> | undefined };

/** Options of {@link createBalancedTransport}. */
export type BalancedTransportOptions = BalancedTransportSource & {
  /**
   * Makes the transport of one instance (called once per address, reused while the instance stays):
   * `addr` is the instance's endpoint for `protocol` (its `addr` for `"grpc"`).
   */
  createTransport: (addr: string, instance: ServiceInstance) => Transport;
  /**
   * Which endpoint of each instance calls go to: `"grpc"` is the instance's `addr`, any other name an
   * entry of its `endpoints` (e.g. `"http"` for `register(etcd, { addr, endpoints: { http } })`).
   * Instances without that endpoint get no calls. Default `"grpc"`.
   */
  protocol?: string | undefined;
  /**
   * `"round-robin"` (smooth weighted), `"p2c"` (power of two choices by calls in flight per weight) or
   * `"p2c-ewma"` (power of two choices by peak EWMA latency × (calls in flight + 1) per weight, with the
   * success rate folded in) or `"ring-hash"` (consistent hashing by the call's hash key: the `hashKey`
   * context value or the `ringHash.header` request header). Default `"round-robin"`.
   */
  policy?: BalancePolicy | undefined;
  /** Options of the `"p2c-ewma"` policy. Default `{}`: `decayMs` 10000. */
  p2cEwma?: P2cEwmaOptions | undefined;
  /**
   * Options of the `"ring-hash"` policy. Default `{}`: the key in the header `x-etcd-ts-hash-key`, 100
   * points on the ring per unit of weight.
   */
  ringHash?: RingHashOptions | undefined;
  /**
   * Whether a unary call may be sent again on another instance after UNAVAILABLE. Default: the method's
   * `idempotency` option is `NO_SIDE_EFFECTS` or `IDEMPOTENT`. A call that provably never left
   * (`wasNotSent`) is always retried.
   */
  isRetryable?: ((method: DescMethod) => boolean) | undefined;
  /** Attempts per unary call, the first included, each on an instance not yet tried. Default 3. */
  maxAttempts?: number | undefined;
  /** How long a call waits for the first view, and for an instance to appear when there is none. Default 5000. */
  waitForInstanceMs?: number | undefined;
  /**
   * Passive outlier ejection: an instance whose calls fail at the connection level is left out of picking
   * for a while, and so is one failing too large a share of its calls (see {@link OutlierDetectionOptions}
   * for the thresholds and times). If every usable instance is ejected, calls are sent to the ejected ones
   * anyway. `false` turns it off. Default `{}`: on, ejecting after 1 refused connection, 3 UNAVAILABLE in
   * a row, or half of its last 20 calls failed, for 10 s × n (n-th ejection in a row), at most 5 minutes.
   */
  outlierDetection?: OutlierDetectionOptions | false | undefined;
  /**
   * Active health checks with gRPC's standard `grpc.health.v1.Health` service, on each instance's own
   * transport: an instance that answers NOT_SERVING (or fails `unhealthyThreshold` checks in a row) gets
   * no calls until it answers SERVING again (see {@link HealthCheckOptions}). `{}` turns them on with the
   * defaults: `Watch` (falling back to `Check` every 5 s on UNIMPLEMENTED), the server as a whole (`""`).
   * Default `false`: off.
   */
  healthCheck?: HealthCheckOptions | false | undefined;
  /**
   * Zone preference with spill-over: calls go to instances registered with the caller's `zone` while
   * those healthy number at least `minInstances` (default 1) and carry at least `minShare` (default 0) of
   * the service's healthy weight; below that, instances of the caller's `region` are added, then every
   * instance (see {@link LocalityOptions}). Whatever the policy, it picks among that set. Default none: no
   * preference.
   */
  locality?: LocalityOptions | undefined;
  /**
   * Slow start: an instance that joins after the transport's first view gets its weight scaled by
   * `max(minWeightPercent / 100, (t / windowMs) ^ (1 / aggression))` for `windowMs` after it joined (or came
   * back to SERVING), whatever the policy (see {@link SlowStartOptions}). `{}` turns it on with the
   * defaults: 60 s, linear, from 10 %. Default `false`: off.
   */
  slowStart?: SlowStartOptions | false | undefined;
};

/**
 * A Connect `Transport` that spreads calls over the live, non-draining instances of a service. Use it
 * with `createClient(Service, transport)`; `close()` stops its own discovery (if it started one) and closes
 * the instance transports that have a `close()`.
 */
export interface BalancedTransport extends Transport, AsyncDisposable {
  /** Calls in flight by instance key. */
  inFlight(): Map<string, number>;
  /** Keys of the instances ejected now by outlier detection (empty when it is off). */
  ejected(): string[];
  /** Keys of the instances active health checks take out now (NOT_SERVING; empty when they are off). */
  unhealthy(): string[];
  /** Keys of the instances whose slow start is ramping now (empty when it is off). */
  warming(): string[];
  /** Stops discovery (when owned) and closes instance transports. */
  close(): Promise<void>;
}

/**
 * Checks the options a JavaScript caller may get wrong that no settings function reads: the object, the
 * transport factory and the retry and wait settings (`InvalidArgumentError` naming the option), so that a
 * mistake fails here rather than at the first call.
 */
function checkCallerOptions(options: BalancedTransportOptions): void {
  checkOptionsObject(options, "options", false);
  if (typeof options.createTransport !== "function")
    throw new InvalidArgumentError(
      "createTransport",
      `must be a function (addr, instance) => Transport, got ${shownInput(options.createTransport)}`,
    );
  if (options.isRetryable !== undefined && typeof options.isRetryable !== "function")
    throw new InvalidArgumentError(
      "isRetryable",
      `must be a function (method) => boolean, got ${shownInput(options.isRetryable)}`,
    );
  if (options.maxAttempts !== undefined) checkInteger(options.maxAttempts, "maxAttempts", 1);
  checkNumber(options.waitForInstanceMs, "waitForInstanceMs", 0);
}

/**
 * Creates a {@link BalancedTransport}. Bad `healthCheck` options or `protocol` are an `InvalidArgumentError`
 * naming the option, thrown before anything starts.
 */
export function createBalancedTransport(options: BalancedTransportOptions): BalancedTransport {
  checkCallerOptions(options);
  const protocol =
    options.protocol === undefined ? GRPC_PROTOCOL : checkProtocol(options.protocol, "protocol");
  const maxAttempts = options.maxAttempts ?? 3;
  const waitMs = options.waitForInstanceMs ?? 5000;
  const isRetryable = options.isRetryable ?? defaultRetryable;
  // Options are checked (these throw InvalidArgumentError) before a discovery is started.
  const detection =
    options.outlierDetection === false ? undefined : outlierDetectionSettings(options.outlierDetection);
  const health =
    options.healthCheck === undefined || options.healthCheck === false
      ? undefined
      : healthCheckSettings(options.healthCheck);
  const locality = options.locality === undefined ? undefined : localitySettings(options.locality);
  const slowStart =
    options.slowStart === undefined || options.slowStart === false
      ? undefined
      : slowStartSettings(options.slowStart);
  const policy = options.policy ?? "round-robin";
  const picker = new Picker(policy, Math.random, { p2cEwma: options.p2cEwma, ringHash: options.ringHash });
  // Only ring-hash reads a key: the other policies pay nothing per call.
  const keyHeader = policy === "ring-hash" ? ringHashSettings(options.ringHash).header : undefined;
  const requestOf = (
    contextValues: ContextValues | undefined,
    header: HeadersInit | undefined,
  ): PickRequest =>
    keyHeader === undefined ? NO_REQUEST : { hashKey: callHashKey(contextValues, header, keyHeader) };
  const owned =
    "discovery" in options ? undefined : discover(options.etcd, options.service, options.discoverOptions);
  const discovery = "discovery" in options ? options.discovery : owned!;
  const pool = new PickPool(
    picker,
    detection,
    (member) => {
      // Its health checks end first (a Watch open on its transport too).
      void checks.get(member)?.stop();
      checks.delete(member);
      // Calls in flight on it may still finish: it is closed when the last one ends.
      if (member.inFlight === 0) closeMember(member);
      else retiring.add(member);
    },
    { locality, slowStart },
  );
  /** Members gone from the view with calls still in flight. */
  const retiring = new Set<PoolMember>();
  /** The health checks of the members in the pool (when on). */
  const checks = new Map<PoolMember, InstanceHealthCheck>();
  /** Picks waiting for an instance: woken by view changes and by an instance coming back to SERVING. */
  const waiting = new Set<() => void>();

  const closeMember = (member: PoolMember) => {
    retiring.delete(member);
    if (member.transport) closeQuietly(member.transport);
    member.transport = undefined;
  };

  const transportOf = (member: PoolMember): Transport => {
    // The pool holds only members with an endpoint for `protocol` (changesForProtocol).
    member.transport ??= options.createTransport(endpointOf(member.instance, protocol)!, member.instance);
    return member.transport;
  };

  /** Starts the health checks of the members of `changes` that have none (new, or a new address). */
  const checkNew = (changes: readonly InstanceChange[]) => {
    if (!health) return;
    for (const c of changes) {
      const member = pool.members.get(c.key);
      if (!member || checks.has(member)) continue;
      const check = new InstanceHealthCheck(health, transportOf(member), (serving) => {
        if (pool.members.get(member.key) !== member) return;
        pool.setServing(member.key, serving);
        if (serving) for (const wake of [...waiting]) wake();
      });
      checks.set(member, check);
    }
  };

  // The view as it is now, then its changes as they come: the pool is never rebuilt from a copy per call.
  // The first view's instances were there before this transport: they do not slow-start. Instances
  // without an endpoint for `protocol` are left out; one whose endpoint moves is replaced.
  let viewSeen = false;
  const onChanges = (viewChanges: readonly InstanceChange[]) => {
    const changes = changesForProtocol(viewChanges, protocol, (key) => {
      const member = pool.members.get(key);
      return member && endpointOf(member.instance, protocol);
    });
    pool.apply(changes, Date.now(), !viewSeen);
    if (discovery.revision > 0n) viewSeen = true;
    checkNew(changes);
  };
  onChanges([...discovery.entries()].map(([key, instance]) => ({ type: "added" as const, key, instance })));
  discovery.on("changes", onChanges);

  /**
   * Ends one call on `member`, recording what it says about the instance: `latencyMs` is a unary call's
   * time to its end, a stream's time to its opening (a stream's length says nothing about the instance).
   */
  const done = (member: PoolMember, latencyMs: number, error: unknown, aborted: boolean | undefined) => {
    pool.record(member, callOutcome(error, aborted), Date.now(), {
      latencyMs,
      failed: callVerdict(error, aborted),
    });
    if (--member.inFlight === 0 && member.gone) closeMember(member);
  };

  /** Picks an untried instance, waiting (bounded) for the view or for one to appear. */
  const pick = async (
    tried: ReadonlySet<string>,
    signal: AbortSignal | undefined,
    request: PickRequest,
  ): Promise<PoolMember> => {
    const deadline = Date.now() + waitMs;
    await withDeadline(discovery.ready, deadline, signal);
    for (;;) {
      const chosen = pool.choose(tried, Date.now(), request);
      if (chosen) {
        // Counted at once, so that concurrent picks see it (p2c).
        chosen.inFlight++;
        return chosen;
      }
      if (tried.size > 0 || Date.now() >= deadline) {
        const which = protocol === GRPC_PROTOCOL ? "" : ` with a ${protocol} endpoint`;
        throw new ConnectError(`no live instance of ${discovery.service}${which}`, Code.Unavailable);
      }
      let wake: (() => void) | undefined;
      try {
        await withDeadline(
          new Promise<void>((resolve) => {
            wake = () => resolve();
            discovery.once("changes", wake);
            waiting.add(wake);
          }),
          deadline,
          signal,
        );
      } finally {
        if (wake) {
          discovery.off("changes", wake);
          waiting.delete(wake);
        }
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
      const request = requestOf(contextValues, header);
      const tried = new Set<string>();
      let lastError: unknown;
      for (let attempt = 1; ; attempt++) {
        let chosen: PoolMember;
        try {
          chosen = await pick(tried, signal, request);
        } catch (err) {
          // Every instance was tried: the caller learns why the last attempt failed, not "no live instance".
          throw lastError ?? err;
        }
        tried.add(chosen.key);
        const startedAt = performance.now();
        let response: UnaryResponse<I, O>;
        try {
          response = await transportOf(chosen).unary(method, signal, timeoutMs, header, input, contextValues);
        } catch (err) {
          done(chosen, performance.now() - startedAt, err, signal?.aborted);
          const again = attempt < maxAttempts && !signal?.aborted && mayRetry(err, method, isRetryable);
          if (!again) throw err;
          lastError = err;
          continue;
        }
        done(chosen, performance.now() - startedAt, undefined, false);
        return response;
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
      const chosen = await pick(new Set(), signal, requestOf(contextValues, header));
      const startedAt = performance.now();
      let response: StreamResponse<I, O>;
      try {
        response = await transportOf(chosen).stream(method, signal, timeoutMs, header, input, contextValues);
      } catch (err) {
        done(chosen, performance.now() - startedAt, err, signal?.aborted);
        throw err;
      }
      const openedMs = performance.now() - startedAt;
      const messages = response.message;
      return {
        ...response,
        message: (async function* () {
          let error: unknown;
          try {
            yield* messages;
          } catch (err) {
            error = err;
            throw err;
          } finally {
            done(chosen, openedMs, error, signal?.aborted);
          }
        })(),
      };
    },

    inFlight() {
      const counts = new Map<string, number>();
      for (const m of [...pool.members.values(), ...retiring]) {
        if (m.inFlight > 0) counts.set(m.key, (counts.get(m.key) ?? 0) + m.inFlight);
      }
      return counts;
    },

    ejected: () => pool.ejected(Date.now()),

    warming: () => pool.warming(Date.now()),

    unhealthy() {
      const keys: string[] = [];
      for (const [member, check] of checks) if (!check.serving) keys.push(member.key);
      return keys;
    },

    async close() {
      discovery.off("changes", onChanges);
      await owned?.close();
      // Health checks end with their members: no timer and no Watch stream is left.
      const checksEnded = Promise.all([...checks.values()].map((c) => c.stop()));
      pool.clear();
      await checksEnded;
      // Closing is closing: calls still in flight end with the transport's error.
      for (const m of [...retiring]) closeMember(m);
    },

    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

/** The request of a call under a policy that reads nothing from calls. */
const NO_REQUEST: PickRequest = {};

/**
 * Whether a failed unary call may go to another instance: one the instance's transport marked never
 * sent (`wasNotSent`), or one that found the instance unavailable by the client's failure rule
 * (`classifyFailure`: refused or lost connection, UNAVAILABLE, whatever code the transport gave it) when
 * `isRetryable` says the method is safe to run twice. Only the mark counts as "never sent" here: a
 * refused connection that a plain transport did not mark is retried only when the method allows it.
 */
function mayRetry(error: unknown, method: DescMethod, isRetryable: (method: DescMethod) => boolean): boolean {
  if (wasNotSent(error)) return true;
  return isRetryable(method) && isUnavailableFailure(classifyFailure(error));
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
  const wait = waitSignal(
    {
      aborted: () => new ConnectError("operation was aborted", Code.Canceled),
      timedOut: () => new ConnectError("no live instance in time", Code.Unavailable),
    },
    signal,
    Math.max(0, deadline - Date.now()),
  );
  try {
    await untilAborted(promise, wait.signal);
  } finally {
    wait.dispose();
  }
}

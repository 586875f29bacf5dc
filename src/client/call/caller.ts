import type {
  DescMessage,
  DescMethod,
  DescMethodUnary,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { checkCallOptions, type TargetedCallOptions } from "../call-options.js";
import { type BackoffOptions, backoffDelay } from "../core/backoff.js";
import {
  AbortedError,
  ClientClosedError,
  DeadlineExceededError,
  type EtcdError,
  nameRefusedCall,
  StaleReadError,
  toEtcdError,
  UnavailableError,
} from "../core/errors.js";
import { classifyFailure, isUnavailable, isUnavailableFailure } from "../core/failure.js";
import { sleep } from "../core/signals.js";
import { type DiagnosticsChannels, methodNames } from "../diagnostics/channels.js";
import type { CallEvent } from "../diagnostics/events.js";
import type { CallSpec } from "./call-spec.js";
import type { EndpointChannel } from "./endpoint-channel.js";
import type { ConnectionPool } from "./pool.js";
import { type RetryKind, retryAllowed, retryKindOfCall, retryKindOfMethod } from "./retry.js";
import type { RevisionFloor } from "./revision-floor.js";

/** Settings of the unary call path. */
export interface CallerSettings {
  timeoutMs: number;
  maxAttempts: number;
  backoff: BackoffOptions;
  /**
   * The client's `monotonicReads`: KV answers raise it, and a read answered below it is refused and
   * retried elsewhere. Undefined when the option is off (then calls pay nothing for it).
   */
  floor?: RevisionFloor | undefined;
}

/** One attempt of a call on `channel`, with `remainingMs` of the call's deadline left. */
export type Attempt<T> = (channel: EndpointChannel, remainingMs: number) => Promise<T>;

/**
 * Runs calls across endpoints: picks an endpoint's channel (the call pipeline: headers, auth, error
 * typing), enforces the deadline, retries what the retry table allows (moving to the next healthy
 * endpoint after a jittered backoff), and marks endpoints that failed. The one retry loop of the client:
 * unary calls and the opening of a snapshot stream both run through it.
 */
export class UnaryCaller {
  readonly #pool: ConnectionPool;
  readonly #settings: CallerSettings;
  readonly #closed: AbortSignal;

  constructor(pool: ConnectionPool, settings: CallerSettings, closed: AbortSignal) {
    this.#pool = pool;
    this.#settings = settings;
    this.#closed = closed;
  }

  /**
   * Calls `spec.method` with `input`; the retry kind comes from the retry table (`retryKindOfCall`).
   * When `answeredBy` is given, its `endpoint` is set to the endpoint that answered. With
   * `spec.options.endpoint` every attempt goes to that endpoint (no failover).
   */
  call<I extends DescMessage, O extends DescMessage>(
    spec: CallSpec<DescMethodUnary<I, O>>,
    input: MessageInitShape<I>,
    answeredBy?: { endpoint?: string },
  ): Promise<MessageShape<O>> {
    // The first attempt is a plain promise chain: most calls succeed at once, and the retry loop's
    // async machinery costs client CPU on every call (measured by `npm run bench`).
    let call: CallState;
    let target: EndpointChannel;
    try {
      call = this.#start(retryKindOfCall(spec.method, input), spec.options, spec.method);
      target = this.#target(spec.options);
    } catch (err) {
      return Promise.reject(err);
    }
    // monotonicReads: every attempt's answer is checked (a stale one fails the attempt, and the retry
    // loop moves on); without it the attempt is the channel call alone.
    const check = this.#settings.floor?.checkFor(spec.method, call.kind);
    const attempt: Attempt<MessageShape<O>> =
      check === undefined
        ? (channel, remainingMs) => channel.call(spec, input, remainingMs)
        : (channel, remainingMs) =>
            channel.call(spec, input, remainingMs).then((answer) => check(answer, channel.endpoint));
    const first = observedAttempt(
      call,
      attempt,
      target,
      call.timeoutMs,
      1,
      undefined,
      this.#pool.diagnostics,
    );
    const retried = first.catch((failure: unknown) => this.#retryLoop(call, attempt, { target, failure }));
    if (answeredBy === undefined) return retried;
    // The retry loop records the endpoint of a later attempt itself.
    call.answeredBy = answeredBy;
    return first.then(
      (message) => {
        answeredBy.endpoint = target.endpoint;
        return message;
      },
      () => retried,
    );
  }

  /**
   * Runs `attempt` with the same deadline, retries, failover and typed errors as a unary call of
   * `spec.method` (for calls that are not one unary RPC, such as opening a snapshot stream). Its attempts
   * are not published on the call diagnostics channels: they are not one RPC each.
   */
  run<T>(spec: CallSpec, attempt: Attempt<T>): Promise<T> {
    let call: CallState;
    try {
      call = this.#start(retryKindOfMethod(spec.method), spec.options, undefined);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#retryLoop(call, attempt, undefined);
  }

  #start(
    kind: RetryKind,
    options: TargetedCallOptions | undefined,
    method: DescMethod | undefined,
  ): CallState {
    checkCallOptions(options);
    const timeoutMs = options?.timeoutMs ?? this.#settings.timeoutMs;
    this.#checkLive(options?.signal);
    const rpc = method === undefined ? undefined : `${method.parent.name}/${method.name}`;
    return { kind, options, timeoutMs, deadline: Date.now() + timeoutMs, answeredBy: undefined, method, rpc };
  }

  /** The endpoint for an attempt: the pool's pick, or the one the call is aimed at. */
  #target(options: TargetedCallOptions | undefined): EndpointChannel {
    try {
      return options?.endpoint === undefined ? this.#pool.pick() : this.#pool.channelFor(options.endpoint);
    } catch (err) {
      // A transport factory that throws (bad TLS material, say) fails the call, typed.
      throw toEtcdError(err);
    }
  }

  /** Every attempt after a failed first one: retries with backoff per the retry table, typed errors. */
  async #retryLoop<T>(call: CallState, attempt: Attempt<T>, first: FailedAttempt | undefined): Promise<T> {
    const { kind, options, timeoutMs, deadline } = call;
    const signal = options?.signal;
    const pool = this.#pool;
    let attempts = 1;
    let pending = first;
    /** The previous attempt's error message, for the call diagnostics of the next. */
    let retryReason: string | undefined;
    /** The previous attempt's error: the cause of a deadline that then passed before a retry was sent. */
    let previous: EtcdError | undefined;
    /** The last answer refused as older than the client's floor (monotonicReads). */
    let stale: StaleReadError | undefined;
    for (;;) {
      let target: EndpointChannel;
      let failure: unknown;
      if (pending !== undefined) {
        ({ target, failure } = pending);
        pending = undefined;
      } else {
        target = this.#target(options);
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          throw new DeadlineExceededError(`deadline of ${timeoutMs} ms exceeded`, {
            code: Code.DeadlineExceeded,
            endpoint: target.endpoint,
          });
        }
        try {
          const result = await observedAttempt(
            call,
            attempt,
            target,
            remaining,
            attempts,
            retryReason,
            pool.diagnostics,
          );
          if (call.answeredBy) call.answeredBy.endpoint = target.endpoint;
          return result;
        } catch (err) {
          failure = err;
        }
      }
      this.#checkLive(signal, failure);
      // A refusal for want of a user or of rights names the RPC: "permission denied" alone does not say which.
      const error: EtcdError = nameRefusedCall(toEtcdError(failure, target.endpoint), call.rpc);
      if (error instanceof StaleReadError) stale = error;
      // The failure rule decides. Wrong credentials and a failing getToken are never retried (no retry
      // can help; getToken is the user's to retry, it may call a remote service).
      const classified = classifyFailure(error);
      if (attempts < this.#settings.maxAttempts && retryAllowed(kind, classified)) {
        pool.markFailed(target.endpoint, error);
        const delay = backoffDelay(attempts, this.#settings.backoff);
        if (delay < deadline - Date.now()) {
          attempts++;
          retryReason = error.message;
          previous = error;
          await sleep(delay, signal, this.#closed);
          this.#checkLive(signal, failure);
          continue;
        }
      }
      if (isUnavailableFailure(classified) || classified.kind === "deadline")
        pool.markFailed(target.endpoint, error);
      const final = unsentDeadline(error, previous, timeoutMs);
      // A member that answered too old says more than one that could not be reached: no member new
      // enough was found, which is what the caller of a monotonic read must learn.
      throw stale !== undefined && isUnavailable(final) ? stale : final;
    }
  }

  /** Throws when the client closed or the caller aborted (keeping the failure that came with it). */
  #checkLive(signal: AbortSignal | undefined, failure?: unknown): void {
    if (this.#closed.aborted) throw new ClientClosedError();
    if (signal?.aborted) {
      throw new AbortedError("the call was aborted", {
        code: Code.Canceled,
        cause: failure ?? signal.reason,
      });
    }
  }
}

/**
 * A deadline that passed before the request was sent (the attempt still waited for a connection, or for
 * a stream slot) is not "outcome unknown". When an earlier attempt failed to connect (an endpoint that
 * accepts TCP but sends no HTTP/2 SETTINGS within `connectTimeoutMs`, a refused connection, ...), that is
 * the real cause: an `UnavailableError` saying so, its `cause` that failure. Otherwise the deadline stays
 * a `DeadlineExceededError`, saying the request was never sent. Any other error passes through.
 */
function unsentDeadline(error: EtcdError, previous: EtcdError | undefined, timeoutMs: number): EtcdError {
  if (error.code !== Code.DeadlineExceeded || classifyFailure(error).sent) return error;
  if (previous !== undefined && isUnavailable(previous))
    return new UnavailableError(
      `${previous.serverMessage}; the call's deadline of ${timeoutMs} ms then passed before a retry was sent (the request was never sent)`,
      { code: Code.Unavailable, endpoint: previous.endpoint, cause: previous },
    );
  return new DeadlineExceededError(
    `deadline of ${timeoutMs} ms exceeded before the request was sent (it never left this process)`,
    { code: Code.DeadlineExceeded, endpoint: error.endpoint, cause: error },
  );
}

/** One call's settings and deadline, handed from the first attempt to the retry loop. */
interface CallState {
  kind: RetryKind;
  options: TargetedCallOptions | undefined;
  timeoutMs: number;
  /** Date.now() value after which no attempt starts. */
  deadline: number;
  answeredBy: { endpoint?: string } | undefined;
  /** The RPC, for the call diagnostics channels (none: attempts are not published). */
  method: DescMethod | undefined;
  /** `Service/Method` of the RPC for errors; undefined when the call is not one RPC. */
  rpc: string | undefined;
}

/**
 * Runs one attempt, publishing it on the call diagnostics channels when anyone listens (otherwise it is
 * the attempt itself: the hot path pays three property reads).
 */
function observedAttempt<T>(
  call: CallState,
  attempt: Attempt<T>,
  target: EndpointChannel,
  remainingMs: number,
  number: number,
  retryReason: string | undefined,
  diagnostics: DiagnosticsChannels,
): Promise<T> {
  const { callStart, callEnd, callError } = diagnostics;
  const method = call.method;
  if (
    method === undefined ||
    !(callStart.hasSubscribers || callEnd.hasSubscribers || callError.hasSubscribers)
  )
    return attempt(target, remainingMs);
  const event: CallEvent = {
    ...methodNames(method),
    endpoint: target.endpoint,
    attempt: number,
    retryReason,
  };
  callStart.publish(event);
  let result: Promise<T>;
  try {
    result = attempt(target, remainingMs);
  } catch (err) {
    result = Promise.reject(err);
  }
  return result.then(
    (value) => {
      callEnd.publish(event);
      return value;
    },
    (err: unknown) => {
      event.error = toEtcdError(err, target.endpoint);
      callError.publish(event);
      throw err;
    },
  );
}

/** An attempt that failed, with where it went. */
interface FailedAttempt {
  target: EndpointChannel;
  failure: unknown;
}

import type { DescMessage, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code, type UnaryResponse } from "@connectrpc/connect";
import type { TargetedCallOptions } from "../call-options.js";
import {
  AbortedError,
  ClientClosedError,
  DeadlineExceededError,
  EtcdError,
  InvalidAuthTokenError,
  toEtcdError,
} from "../errors.js";
import { checkNumber } from "../validation.js";
import { type BackoffOptions, backoffDelay } from "./backoff.js";
import type { ConnectionPool } from "./pool.js";
import { isUnavailable, type RetryKind, shouldRetry } from "./retry.js";
import { sleep } from "./sleep.js";
import type { EndpointTransport } from "./transport-pool.js";

/** Settings of the unary call path. */
export interface CallerSettings {
  timeoutMs: number;
  maxAttempts: number;
  backoff: BackoffOptions;
}

/**
 * Runs unary calls: picks an endpoint, attaches metadata, enforces the deadline, retries what the
 * retry table allows (moving to the next healthy endpoint after a jittered backoff), re-authenticates
 * once on an invalid token, and turns failures into typed errors.
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
   * Calls `method` with `input`; `kind` says whether a failed attempt may run again. When `answeredBy`
   * is given, its `endpoint` is set to the endpoint that answered. With `options.endpoint` every attempt
   * goes to that endpoint (no failover).
   */
  call<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    input: MessageInitShape<I>,
    kind: RetryKind,
    options: TargetedCallOptions | undefined,
    requireLeader: boolean,
    answeredBy?: { endpoint?: string },
  ): Promise<MessageShape<O>> {
    // The first attempt is a plain promise chain: most calls succeed at once, and the retry loop's
    // async machinery costs client CPU on every call (measured by `npm run bench`).
    const call: CallState<I, O> = {
      method,
      input,
      kind,
      options,
      requireLeader,
      answeredBy,
      timeoutMs: 0,
      deadline: 0,
    };
    let target: EndpointTransport;
    try {
      call.timeoutMs = options?.timeoutMs ?? this.#settings.timeoutMs;
      if (options?.timeoutMs !== undefined) checkNumber(call.timeoutMs, "timeoutMs", 1);
      this.#checkLive(options?.signal);
      call.deadline = Date.now() + call.timeoutMs;
      target = this.#target(options);
    } catch (err) {
      return Promise.reject(err);
    }
    const auth = this.#pool.auth;
    const token = auth?.current;
    // Without a token yet, authenticating first is the loop's job.
    if (auth !== undefined && token === undefined) return this.#retryLoop(call, undefined);
    let response: Promise<UnaryResponse<I, O>>;
    try {
      response = target.transport.unary(
        method,
        options?.signal,
        call.timeoutMs,
        this.#pool.headers(requireLeader),
        input,
      );
    } catch (err) {
      // A user-supplied transport may throw instead of rejecting; the retry loop judges it the same.
      response = Promise.reject(err);
    }
    return response.then(
      (res) => {
        if (answeredBy) answeredBy.endpoint = target.endpoint;
        return res.message;
      },
      (failure: unknown) => this.#retryLoop(call, { target, token, failure }),
    );
  }

  /** The endpoint for an attempt: the pool's pick, or the one the call is aimed at. */
  #target(options: TargetedCallOptions | undefined): EndpointTransport {
    try {
      return options?.endpoint === undefined ? this.#pool.pick() : this.#pool.connectionFor(options.endpoint);
    } catch (err) {
      // A transport factory that throws (bad TLS material, say) fails the call, typed.
      throw toEtcdError(err);
    }
  }

  /**
   * Every attempt after a failed first one (or every attempt, when a token must be obtained first):
   * re-authentication, retries with backoff per the retry table, typed errors.
   */
  async #retryLoop<I extends DescMessage, O extends DescMessage>(
    call: CallState<I, O>,
    first: FailedAttempt | undefined,
  ): Promise<MessageShape<O>> {
    const { method, input, kind, options, requireLeader, answeredBy, timeoutMs, deadline } = call;
    const signal = options?.signal;
    const pool = this.#pool;
    const auth = pool.auth;
    let attempt = 1;
    let reauthenticated = false;
    let pending = first;
    for (;;) {
      let target: EndpointTransport;
      let token: string | undefined;
      let failure: unknown;
      if (pending !== undefined) {
        ({ target, token, failure } = pending);
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
          if (auth) token = auth.current ?? (await auth.obtain(target, signal, remaining));
          const res = await target.transport.unary(
            method,
            signal,
            remaining,
            pool.headers(requireLeader),
            input,
          );
          if (answeredBy) answeredBy.endpoint = target.endpoint;
          return res.message;
        } catch (err) {
          failure = err;
        }
      }
      this.#checkLive(signal, failure);
      // The token expired or was issued by another member: authenticate once more and retry once.
      if (auth && !reauthenticated && isInvalidToken(failure)) {
        reauthenticated = true;
        auth.invalidate(token);
        continue;
      }
      // A failed Authenticate arrives as an EtcdError; judge it by the transport error underneath.
      const raw = failure instanceof EtcdError && failure.cause !== undefined ? failure.cause : failure;
      const retryKind = failure instanceof EtcdError ? "idempotent" : kind;
      if (attempt < this.#settings.maxAttempts && shouldRetry(retryKind, raw)) {
        pool.markFailed(target.endpoint);
        const delay = backoffDelay(attempt, this.#settings.backoff);
        if (delay < deadline - Date.now()) {
          attempt++;
          await sleep(delay, signal, this.#closed);
          this.#checkLive(signal, failure);
          continue;
        }
      }
      const error = toEtcdError(failure, target.endpoint);
      if (isUnavailable(raw) || error.code === Code.DeadlineExceeded) pool.markFailed(target.endpoint);
      throw error;
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

/** One unary call's inputs and deadline, handed from the first attempt to the retry loop. */
interface CallState<I extends DescMessage, O extends DescMessage> {
  method: DescMethodUnary<I, O>;
  input: MessageInitShape<I>;
  kind: RetryKind;
  options: TargetedCallOptions | undefined;
  requireLeader: boolean;
  answeredBy: { endpoint?: string } | undefined;
  timeoutMs: number;
  /** Date.now() value after which no attempt starts. */
  deadline: number;
}

/** An attempt that failed, with what it was made with. */
interface FailedAttempt {
  target: EndpointTransport;
  token: string | undefined;
  failure: unknown;
}

function isInvalidToken(error: unknown): boolean {
  return toEtcdError(error) instanceof InvalidAuthTokenError;
}

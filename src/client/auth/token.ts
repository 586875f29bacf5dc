import { Code, type Transport } from "@connectrpc/connect";
import { Auth } from "../../gen/etcdserverpb/rpc_pb.js";
import {
  AbortedError,
  AuthFailedError,
  DeadlineExceededError,
  GetTokenError,
  toEtcdError,
} from "../core/errors.js";
import { markNotSent } from "../core/failure.js";
import { anySignal, untilAborted, waitSignal } from "../core/signals.js";
import type { DiagnosticsChannels } from "../diagnostics/channels.js";

/** What the client's `auth.getToken` is called with. */
export interface GetTokenContext {
  /**
   * Aborted when the client closes or when the token took longer than the client's `timeoutMs`; the
   * client stops waiting then, whatever `getToken` does.
   */
  readonly signal: AbortSignal;
  /**
   * `"initial"` while no token was ever obtained; `"refresh"` once the server refused the last token
   * (it expired, its member restarted, or, for a JWT, the auth store changed).
   */
  readonly reason: "initial" | "refresh";
}

/** The `auth` option after validation: which of the three forms is in use. */
export type ResolvedAuth =
  | { readonly kind: "password"; readonly username: string; readonly password: string }
  | { readonly kind: "token"; readonly token: string }
  | {
      readonly kind: "getToken";
      readonly getToken: (context: GetTokenContext) => Promise<string> | string;
    };

/**
 * Where the auth token of the call pipeline (`EndpointChannel`) comes from. The channel sends `current`,
 * calls `obtain` when none is held and reports a token the server refused with `invalidate`; it does not
 * know which form of the `auth` option is behind it. No implementation shows a token or a password in
 * `inspect()` output, errors or logs.
 */
export interface AuthTokenSource {
  /** The token to send now, if one is held. */
  readonly current: string | undefined;
  /** False when a refused token cannot be replaced (a fixed `auth.token`): a refusal is then final. */
  readonly refreshable: boolean;
  /**
   * The current token, or a new one when none is held (concurrent callers share one request for it).
   * `transport` and `endpoint` are where an `Authenticate` would go; `signal` and `timeoutMs` bound how
   * long this caller waits. Rejects with an `EtcdError`, marked not-sent: the call needing the token
   * never left. `AuthFailedError` for wrong credentials, `GetTokenError` when `getToken` failed.
   */
  obtain(
    transport: Transport,
    endpoint: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<string>;
  /** The server refused `token`: drop it if it is still the current one (a newer one is kept). */
  invalidate(token: string | undefined): void;
}

/** Settings every refreshing source shares. */
export interface TokenSourceSettings {
  /** Aborted when the client closes: a pending `Authenticate` or `getToken` is given up. */
  readonly closed: AbortSignal;
  /** The longest one `Authenticate` or `getToken` may take, ms (the client's `timeoutMs`). */
  readonly timeoutMs: number;
  /** Where the auth events are published (the platform's channels). */
  readonly diagnostics: DiagnosticsChannels;
}

/** Makes the token source for the validated `auth` option (undefined: no auth). */
export function createAuthTokenSource(
  auth: ResolvedAuth | undefined,
  settings: TokenSourceSettings,
): AuthTokenSource | undefined {
  switch (auth?.kind) {
    case undefined:
      return undefined;
    case "password":
      return new PasswordTokenSource(auth.username, auth.password, settings);
    case "token":
      return new FixedTokenSource(auth.token);
    case "getToken":
      return new CallbackTokenSource(auth.getToken, settings);
  }
}

/** A token minted elsewhere (`auth: { token }`), sent as is; once the server refuses it, nothing can replace it. */
export class FixedTokenSource implements AuthTokenSource {
  readonly refreshable = false;
  readonly #token: string;

  constructor(token: string) {
    this.#token = token;
  }

  get current(): string {
    return this.#token;
  }

  obtain(): Promise<string> {
    return Promise.resolve(this.#token);
  }

  invalidate(): void {
    // Nothing to refresh: the caller's call (or stream) fails with InvalidAuthTokenError.
  }

  /** Keeps the token out of `util.inspect`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "FixedTokenSource { token: <set> }";
  }
}

/**
 * A source that can get a fresh token (from `Authenticate` or `getToken`): holds the current one, and
 * shares one pending request among every caller that needs a token. The request runs under its own
 * deadline (the client's `timeoutMs`) and the client's close, not under the first caller's signal, so
 * one caller giving up does not fail the others; each caller stops waiting at its own deadline.
 */
abstract class RefreshingTokenSource implements AuthTokenSource {
  readonly refreshable = true;
  /** Which form of the `auth` option this is, for the auth diagnostics channels. */
  protected abstract readonly source: "password" | "getToken";
  readonly #settings: TokenSourceSettings;
  #token: string | undefined;
  #pending: Promise<string> | undefined;
  /** Set once a token was obtained: later requests are refreshes. */
  #obtained = false;

  constructor(settings: TokenSourceSettings) {
    this.#settings = settings;
  }

  get current(): string | undefined {
    return this.#token;
  }

  obtain(
    transport: Transport,
    endpoint: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<string> {
    if (this.#token !== undefined) return Promise.resolve(this.#token);
    if (this.#pending === undefined) {
      const reason = this.#obtained ? "refresh" : "initial";
      const limit = anySignal([this.#settings.closed], this.#settings.timeoutMs);
      this.#pending = this.request(transport, endpoint, limit.signal, reason).then(
        (token) => {
          limit.dispose();
          this.#pending = undefined;
          this.#token = token;
          this.#obtained = true;
          // The token itself never goes into an event.
          const { authToken } = this.#settings.diagnostics;
          if (authToken.hasSubscribers) authToken.publish({ endpoint, source: this.source, reason });
          return token;
        },
        (err: unknown) => {
          limit.dispose();
          this.#pending = undefined;
          const { authError } = this.#settings.diagnostics;
          if (authError.hasSubscribers)
            authError.publish({
              endpoint,
              source: this.source,
              reason,
              error: toEtcdError(err, endpoint),
            });
          throw err;
        },
      );
    }
    return waitFor(this.#pending, signal, timeoutMs, endpoint);
  }

  invalidate(token: string | undefined): void {
    if (token !== undefined && this.#token === token) this.#token = undefined;
  }

  /** Describes the source for `inspect()`, never with a secret. */
  protected describe(name: string, fields: string): string {
    return `${name} { ${fields}token: ${this.#token ? "<set>" : "<none>"} }`;
  }

  /** Gets a new token; settles by the time `signal` aborts. Rejects with an `EtcdError`. */
  protected abstract request(
    transport: Transport,
    endpoint: string,
    signal: AbortSignal,
    reason: GetTokenContext["reason"],
  ): Promise<string>;
}

/** `auth: { username, password }`: tokens from etcd's `Authenticate`. The password lives in a private field only. */
export class PasswordTokenSource extends RefreshingTokenSource {
  protected readonly source = "password";
  readonly username: string;
  readonly #password: string;
  readonly #timeoutMs: number;

  constructor(username: string, password: string, settings: TokenSourceSettings) {
    super(settings);
    this.username = username;
    this.#password = password;
    this.#timeoutMs = settings.timeoutMs;
  }

  protected async request(transport: Transport, endpoint: string, signal: AbortSignal): Promise<string> {
    try {
      const res = await transport.unary(Auth.method.authenticate, signal, this.#timeoutMs, undefined, {
        name: this.username,
        password: this.#password,
      });
      return res.message.token;
    } catch (err) {
      const error = toEtcdError(err, endpoint);
      throw error instanceof AuthFailedError ? error : markNotSent(error);
    }
  }

  /** Keeps the password out of `util.inspect`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.describe("PasswordTokenSource", `username: ${JSON.stringify(this.username)}, `);
  }
}

/** `auth: { getToken }`: tokens minted elsewhere (a JWT from an identity service), asked for when needed. */
export class CallbackTokenSource extends RefreshingTokenSource {
  protected readonly source = "getToken";
  readonly #getToken: (context: GetTokenContext) => Promise<string> | string;

  constructor(
    getToken: (context: GetTokenContext) => Promise<string> | string,
    settings: TokenSourceSettings,
  ) {
    super(settings);
    this.#getToken = getToken;
  }

  protected async request(
    _transport: Transport,
    _endpoint: string,
    signal: AbortSignal,
    reason: GetTokenContext["reason"],
  ): Promise<string> {
    let token: unknown;
    try {
      // A getToken that ignores its signal must not hold every later call: stop waiting at the deadline.
      token = await untilAborted(
        new Promise<string>((resolve) => resolve(this.#getToken({ signal, reason }))),
        signal,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw markNotSent(
        new GetTokenError(`auth.getToken failed: ${message}`, { code: Code.Unauthenticated, cause: err }),
      );
    }
    // The value is not shown: it may be a token in the wrong shape.
    if (typeof token !== "string" || !isHeaderValue(token)) {
      const got = typeof token === "string" ? "a string that cannot be sent as metadata" : typeof token;
      throw markNotSent(
        new GetTokenError(`auth.getToken must return a non-empty string without line breaks, got ${got}`, {
          code: Code.Unauthenticated,
        }),
      );
    }
    return token;
  }

  /** Shows no token. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.describe("CallbackTokenSource", "");
  }
}

/** True for a non-empty string that can go into a gRPC metadata value (no NUL, CR or LF). */
export function isHeaderValue(value: string): boolean {
  return value.length > 0 && !/[\0\r\n]/.test(value);
}

/** One caller's wait for the shared request: gives up, typed and marked not-sent, at its own signal or deadline. */
async function waitFor(
  pending: Promise<string>,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  endpoint: string,
): Promise<string> {
  const wait = waitSignal(
    {
      aborted: (reason) =>
        markNotSent(new AbortedError("the call was aborted", { code: Code.Canceled, cause: reason })),
      timedOut: () =>
        markNotSent(
          new DeadlineExceededError(`deadline of ${timeoutMs} ms exceeded while obtaining an auth token`, {
            code: Code.DeadlineExceeded,
            endpoint,
          }),
        ),
    },
    signal,
    Math.max(0, timeoutMs),
  );
  try {
    return await untilAborted(pending, wait.signal);
  } finally {
    wait.dispose();
  }
}

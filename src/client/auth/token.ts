import type { Transport } from "@connectrpc/connect";
import { Auth } from "../../gen/etcdserverpb/rpc_pb.js";
import { AuthFailedError, toEtcdError } from "../errors.js";
import { markNotSent } from "../transport/not-sent.js";

/**
 * Holds the credentials and the current auth token. The password lives only in a private field, so it
 * never shows in `inspect()` output, errors or logs. Concurrent callers share one `Authenticate`.
 */
export class AuthTokenSource {
  readonly username: string;
  readonly #password: string;
  #token: string | undefined;
  #pending: Promise<string> | undefined;

  constructor(username: string, password: string) {
    this.username = username;
    this.#password = password;
  }

  /** The token to send now, if one was obtained. */
  get current(): string | undefined {
    return this.#token;
  }

  /**
   * Returns the current token, authenticating over `transport` (the endpoint `endpoint`) first when
   * there is none. A failure is an `EtcdError` naming the endpoint: `AuthFailedError` for wrong
   * credentials; anything else is marked not-sent, since the call that needed the token never left.
   */
  obtain(
    transport: Transport,
    endpoint: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<string> {
    if (this.#token !== undefined) return Promise.resolve(this.#token);
    this.#pending ??= this.#authenticate(transport, endpoint, signal, timeoutMs).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Drops `token` if it is still the current one (a newer token from another caller is kept). */
  invalidate(token: string | undefined): void {
    if (token !== undefined && this.#token === token) this.#token = undefined;
  }

  async #authenticate(
    transport: Transport,
    endpoint: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<string> {
    try {
      const res = await transport.unary(Auth.method.authenticate, signal, timeoutMs, undefined, {
        name: this.username,
        password: this.#password,
      });
      this.#token = res.message.token;
      return res.message.token;
    } catch (err) {
      const error = toEtcdError(err, endpoint);
      throw error instanceof AuthFailedError ? error : markNotSent(error);
    }
  }

  /** Keeps the password out of `util.inspect`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `AuthTokenSource { username: ${JSON.stringify(this.username)}, token: ${this.#token ? "<set>" : "<none>"} }`;
  }
}

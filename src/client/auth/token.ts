import { Auth } from "../../gen/etcdserverpb/rpc_pb.js";
import type { EndpointTransport } from "../connection/transport-pool.js";
import { toEtcdError } from "../errors.js";

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

  /** Returns the current token, authenticating against `target` first when there is none. */
  obtain(target: EndpointTransport, signal: AbortSignal | undefined, timeoutMs: number): Promise<string> {
    if (this.#token !== undefined) return Promise.resolve(this.#token);
    this.#pending ??= this.#authenticate(target, signal, timeoutMs).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Drops `token` if it is still the current one (a newer token from another caller is kept). */
  invalidate(token: string | undefined): void {
    if (token !== undefined && this.#token === token) this.#token = undefined;
  }

  async #authenticate(target: EndpointTransport, signal: AbortSignal | undefined, timeoutMs: number) {
    try {
      const res = await target.transport.unary(Auth.method.authenticate, signal, timeoutMs, undefined, {
        name: this.username,
        password: this.#password,
      });
      this.#token = res.message.token;
      return res.message.token;
    } catch (err) {
      throw toEtcdError(err, target.endpoint);
    }
  }

  /** Keeps the password out of `util.inspect`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `AuthTokenSource { username: ${JSON.stringify(this.username)}, token: ${this.#token ? "<set>" : "<none>"} }`;
  }
}

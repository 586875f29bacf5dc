import type * as http2 from "node:http2";
import { Http2SessionManager } from "@connectrpc/connect-node";
import { markNotSent } from "../client/core/index.js";

/**
 * connect-node's session manager with one fix: when a keepalive PING times out it destroys the session
 * with an error, and its own "error" listener can already be gone by the time Node emits that error
 * (the streams' failure moved the manager to another state first), which crashed the process with an
 * uncaught "PING timed out". We keep a no-op listener on every session it hands out; the calls still
 * fail through their streams.
 *
 * It also counts the sessions it hands out (a new one means a new connection), and marks every error of
 * `request()` as not sent: that method fails only before an HTTP/2 stream
 * exists (no connection, TLS handshake refused, session closed), so no byte of the call left.
 */
export class GuardedHttp2SessionManager extends Http2SessionManager {
  readonly #guarded = new WeakSet<http2.Http2Session>();
  #sessions = 0;

  /** How many HTTP/2 sessions calls went out on so far (each reconnect counts). */
  get sessionsUsed(): number {
    return this.#sessions;
  }

  override async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "signal">,
  ): Promise<http2.ClientHttp2Stream> {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = await super.request(method, path, headers, options);
    } catch (error) {
      throw markNotSent(error instanceof Error ? error : new Error(String(error), { cause: error }));
    }
    const session = stream.session;
    if (session && !this.#guarded.has(session)) {
      this.#guarded.add(session);
      this.#sessions++;
      session.on("error", () => {});
    }
    return stream;
  }
}

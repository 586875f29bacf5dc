import * as http2 from "node:http2";
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
 *
 * And {@link close} ends the open streams before the connection: connect-node arms a 15-minute idle timer
 * (`idleConnectionTimeoutMs`) when the last stream of a connection closes, and after `abort()` the
 * streams close once the manager has already cleaned that connection up, so the timer was never cleared
 * and held the dead session, its socket and buffers for 15 minutes (one per transport closed under a
 * watch or a health `Watch`).
 */
export class GuardedHttp2SessionManager extends Http2SessionManager {
  readonly #guarded = new WeakSet<http2.Http2Session>();
  #sessions = 0;
  /** The streams handed out and not closed yet. */
  readonly #open = new Set<http2.ClientHttp2Stream>();

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
    this.#open.add(stream);
    stream.once("close", () => this.#open.delete(stream));
    const session = stream.session;
    if (session && !this.#guarded.has(session)) {
      this.#guarded.add(session);
      this.#sessions++;
      session.on("error", () => {});
    }
    return stream;
  }

  /**
   * Cancels every open stream, waits for them to close (connect-node's listeners run while the connection
   * is still its current one, so the idle timer they arm is cleared by the abort), then aborts the
   * connection. Never rejects.
   */
  async close(): Promise<void> {
    const closing = [...this.#open].map((stream) => {
      const closed = new Promise<void>((resolve) => stream.once("close", () => resolve()));
      stream.close(http2.constants.NGHTTP2_CANCEL);
      // close() waits for the RST_STREAM to be sent; destroy() ends the stream now, whatever the socket does.
      stream.destroy();
      return closed;
    });
    await Promise.all(closing);
    this.abort();
  }
}

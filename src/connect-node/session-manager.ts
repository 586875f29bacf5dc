import type * as http2 from "node:http2";
import { Http2SessionManager } from "@connectrpc/connect-node";

/**
 * connect-node's session manager with one fix: when a keepalive PING times out it destroys the session
 * with an error, and its own "error" listener can already be gone by the time Node emits that error
 * (the streams' failure moved the manager to another state first), which crashed the process with an
 * uncaught "PING timed out". We keep a no-op listener on every session it hands out; the calls still
 * fail through their streams.
 */
export class GuardedHttp2SessionManager extends Http2SessionManager {
  readonly #guarded = new WeakSet<http2.Http2Session>();

  override async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "signal">,
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (session && !this.#guarded.has(session)) {
      this.#guarded.add(session);
      session.on("error", () => {});
    }
    return stream;
  }
}

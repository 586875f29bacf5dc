import type { ClientHttp2Session } from "node:http2";

/** What the keepalive monitor needs from its connection. */
export interface KeepaliveHost {
  /** The session to ping. */
  readonly session: ClientHttp2Session;
  /** True when a ping is due: calls are in flight, or idle pings are allowed. */
  wantsKeepalive(): boolean;
  /** Called once when a ping went unanswered for the timeout: the connection is dead. */
  onKeepaliveTimeout(timeoutMs: number): void;
}

/**
 * Detects dead connections (a frozen or unplugged server keeps TCP open but stops answering) with HTTP/2
 * PINGs: one every `intervalMs` while the host wants it, and the connection is declared dead when the
 * ack takes longer than `timeoutMs`. Its timers are unref'd and it never keeps the process alive.
 */
export class KeepaliveMonitor {
  readonly #host: KeepaliveHost;
  readonly #timeoutMs: number;
  readonly #interval: NodeJS.Timeout;
  #ackTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(host: KeepaliveHost, intervalMs: number, timeoutMs: number) {
    this.#host = host;
    this.#timeoutMs = timeoutMs;
    this.#interval = setInterval(() => this.#tick(), intervalMs);
    this.#interval.unref();
  }

  /** Stops pinging and clears every timer; safe to call twice. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#interval);
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  #tick(): void {
    const session = this.#host.session;
    if (
      this.#ackTimer !== undefined ||
      session.destroyed ||
      session.connecting ||
      !this.#host.wantsKeepalive()
    )
      return;
    const sent = session.ping((err) => {
      clearTimeout(this.#ackTimer);
      this.#ackTimer = undefined;
      // An error here means the session went away meanwhile; its close handling covers that.
      void err;
    });
    if (!sent) return;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      if (!this.#stopped) this.#host.onKeepaliveTimeout(this.#timeoutMs);
    }, this.#timeoutMs);
    this.#ackTimer.unref();
  }
}

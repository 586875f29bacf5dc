import type { GrpcSession } from "./grpc-session.js";

/** What the keepalive monitor needs from its connection. */
export interface KeepaliveHost {
  /** The session to ping. */
  readonly session: GrpcSession;
  /** True once the server's SETTINGS arrived: pings before that are the connect timer's business. */
  readonly ready: boolean;
  /** True when a periodic ping is due: calls are in flight, or idle pings are allowed. */
  wantsKeepalive(): boolean;
  /** Called once when a ping went unanswered for the keepalive timeout: the connection is dead. */
  onKeepaliveTimeout(timeoutMs: number): void;
}

/**
 * etcd (grpc-go) counts a PING that comes sooner than its `--grpc-keepalive-min-time` (default 5 s) after
 * the previous one as a strike, unless it sent headers or data in between, and answers the third strike
 * with GOAWAY "too_many_pings", closing the connection. On-demand pings keep this gap (with a margin for
 * clocks and scheduling) whatever the server sent: a client cannot see which frames reset the count (the
 * server's own BDP pings and window updates do not).
 */
export const MIN_PING_GAP_MS = 5_500;

/** A {@link KeepaliveMonitor.check} waiting for its ping's ack. */
interface Check {
  readonly timeoutMs: number;
  readonly resolve: (alive: boolean) => void;
  timer?: NodeJS.Timeout;
}

/**
 * The HTTP/2 PINGs of one connection, from one place so that they never come closer than etcd allows:
 * - keepalive: one every `intervalMs` while the host wants it (0: none), unless a ping went out more
 *   recently; the connection is declared dead when any ping's ack takes longer than `timeoutMs`;
 * - {@link check}: an on-demand "is this connection alive?" (the Watch stream's liveness). It shares a
 *   ping in flight, else sends one as soon as {@link MIN_PING_GAP_MS} since the last ping allows (or
 *   shares the next keepalive ping, if that comes first), and reports whether the ack came within its own
 *   timeout.
 * Its timers are unref'd and it never keeps the process alive.
 */
export class KeepaliveMonitor {
  readonly #host: KeepaliveHost;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #interval: NodeJS.Timeout | undefined;
  /** Checks waiting for the ping in flight. */
  readonly #inFlight = new Set<Check>();
  /** Checks waiting for the next ping (held back by the gap). */
  readonly #queued = new Set<Check>();
  #pinging = false;
  #keepaliveTimer: NodeJS.Timeout | undefined;
  #gapTimer: NodeJS.Timeout | undefined;
  #lastSentAt = Number.NEGATIVE_INFINITY;
  #stopped = false;

  constructor(host: KeepaliveHost, intervalMs: number, timeoutMs: number) {
    this.#host = host;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
    if (intervalMs > 0) {
      this.#interval = setInterval(() => this.#tick(), intervalMs);
      this.#interval.unref();
    }
  }

  /**
   * Resolves true once a ping sent for this check (or one in flight) is answered, false when its ack
   * did not come within `timeoutMs` of the ping leaving. True at once when there is nothing to ask (the
   * connection is not ready, or is gone: its calls fail on their own). Never rejects.
   */
  check(timeoutMs: number): Promise<boolean> {
    const session = this.#host.session;
    if (this.#stopped || session.destroyed || !this.#host.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check: Check = { timeoutMs, resolve };
      if (this.#pinging) {
        this.#inFlight.add(check);
        this.#startTimer(check);
        return;
      }
      this.#queued.add(check);
      const wait = this.#lastSentAt + MIN_PING_GAP_MS - Date.now();
      if (wait <= 0) this.#ping();
      else if (this.#gapTimer === undefined) {
        this.#gapTimer = setTimeout(() => {
          this.#gapTimer = undefined;
          if (!this.#pinging) this.#ping();
        }, wait);
        this.#gapTimer.unref();
      }
    });
  }

  /** Stops pinging and clears every timer; pending checks resolve true (no verdict). Safe to call twice. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#interval);
    clearTimeout(this.#keepaliveTimer);
    clearTimeout(this.#gapTimer);
    this.#keepaliveTimer = undefined;
    this.#gapTimer = undefined;
    this.#settle(true);
  }

  #tick(): void {
    if (this.#pinging || !this.#host.wantsKeepalive()) return;
    // A ping sent for a check since the last tick serves as this one.
    if (Date.now() - this.#lastSentAt < this.#intervalMs) return;
    this.#ping();
  }

  /** Sends a ping for every queued check (and the keepalive). */
  #ping(): void {
    const session = this.#host.session;
    if (this.#stopped || session.destroyed || session.connecting || !this.#host.ready) {
      this.#settle(true);
      return;
    }
    clearTimeout(this.#gapTimer);
    this.#gapTimer = undefined;
    const sent = session.ping((err) => {
      this.#pinging = false;
      clearTimeout(this.#keepaliveTimer);
      this.#keepaliveTimer = undefined;
      // An error means the session went away meanwhile (its close handling covers that): no verdict.
      void err;
      this.#settle(true);
    });
    if (!sent) {
      this.#settle(true);
      return;
    }
    this.#pinging = true;
    this.#lastSentAt = Date.now();
    for (const check of this.#queued) {
      this.#queued.delete(check);
      this.#inFlight.add(check);
      this.#startTimer(check);
    }
    if (this.#intervalMs > 0) {
      this.#keepaliveTimer = setTimeout(() => {
        this.#keepaliveTimer = undefined;
        if (!this.#stopped) this.#host.onKeepaliveTimeout(this.#timeoutMs);
      }, this.#timeoutMs);
      this.#keepaliveTimer.unref();
    }
  }

  #startTimer(check: Check): void {
    check.timer = setTimeout(() => {
      // An event loop that was blocked runs due timers before reading the socket: let the poll phase
      // deliver an ack that already arrived before calling the connection dead.
      setImmediate(() => {
        if (!this.#inFlight.delete(check)) return;
        check.resolve(false);
      });
    }, check.timeoutMs);
    check.timer.unref();
  }

  /** Resolves every check, queued or in flight, with `alive`. */
  #settle(alive: boolean): void {
    for (const set of [this.#inFlight, this.#queued]) {
      for (const check of set) {
        clearTimeout(check.timer);
        check.resolve(alive);
      }
      set.clear();
    }
  }
}

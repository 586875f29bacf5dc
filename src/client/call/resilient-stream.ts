import type {
  DescMessage,
  DescMethodBiDiStreaming,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { Backoff, type BackoffOptions } from "../core/backoff.js";
import { pushedMessages } from "../core/buffered-messages.js";
import {
  AuthFailedError,
  ClientClosedError,
  type EtcdError,
  GetTokenError,
  InvalidAuthTokenError,
} from "../core/errors.js";
import { QueuedIterator } from "../core/queued-iterator.js";
import { sleep } from "../core/signals.js";
import { methodNames } from "../diagnostics/channels.js";
import type { StreamEvent } from "../diagnostics/events.js";
import type { EndpointChannel } from "./endpoint-channel.js";
import type { EndpointServer } from "./endpoint-server.js";
import type { ConnectionPool } from "./pool.js";

/** Settings of a {@link ResilientStream}; the client fills them from its `streams` option. */
export interface StreamSettings {
  /** Reconnect backoff. */
  readonly backoff: BackoffOptions;
  /**
   * With `"connection"` liveness: after this long without any answer the connection is checked (0 turns
   * idle checks off), ms. A stream may be idle for hours; a frozen member answers nothing, and only a
   * check tells the two apart.
   */
  readonly idleTimeoutMs: number;
  /**
   * With `"answers"` liveness, a request unanswered this long means the stream is dead: it is abandoned.
   * With `"connection"` liveness, a request unanswered this long gets the connection checked, and a check
   * unanswered this long abandons the stream. In ms.
   */
  readonly answerTimeoutMs: number;
}

/**
 * How a {@link ResilientStream} judges that its stream is dead.
 * - `"answers"`: every request of the protocol is answered (lease keepalives), so a request unanswered
 *   for the answer timeout means the stream is dead.
 * - `"connection"`: the server may rightly leave a request unanswered for long (etcd 3.4.31+, 3.5.13+,
 *   3.6 and 3.7 drop a watch progress request while a watcher catches up) and a stream may be silent for
 *   hours, so what is checked is the connection ({@link EndpointChannel.checkConnection}: an HTTP/2 PING
 *   on the default transport) after the idle timeout without an answer, or once a request waited the
 *   answer timeout; the stream is abandoned only when the check goes unanswered for the answer timeout.
 */
export type StreamLiveness = "answers" | "connection";

/** What a {@link ResilientStream} asks of the part that owns it (the watch hub, the lease keeper). */
export interface StreamOwner<I extends DescMessage, O extends DescMessage> {
  /** True while there is something to keep a stream open for. */
  wanted(): boolean;
  /** A new stream is open: send what it needs (re-create watches, refresh leases). */
  opened(stream: LiveStream<I>): void;
  /** One answer from the server. */
  received(stream: LiveStream<I>, message: MessageShape<O>): void;
  /** The stream is over (another opens while `wanted()`): forget what was bound to it. */
  ended(stream: LiveStream<I>): void;
  /**
   * No stream can work again: the credentials are wrong (`AuthFailedError`), or the server refused a
   * token that cannot be refreshed (`InvalidAuthTokenError` with a fixed `auth.token`). End everything
   * owned with `error`.
   */
  failed(error: EtcdError): void;
  /** How the stream's liveness is judged (see {@link StreamLiveness}). Default `"answers"`. */
  readonly liveness?: StreamLiveness;
  /** How long an answer may take now, ms, if shorter than the settings' (e.g. a third of a lease TTL). */
  answerTimeoutMs?(): number;
}

/** Why a stream ended, as the loop judges it. */
type Ending =
  | { kind: "closed" }
  | { kind: "idle" }
  | { kind: "reauthenticate" }
  | { kind: "fatal"; error: EtcdError }
  | { kind: "failed"; error: EtcdError | Error };

/** One open stream, as its owner sees it. */
export class LiveStream<I extends DescMessage> {
  /** The endpoint the stream is on. */
  readonly endpoint: string;
  /** What is known about the server behind it (its version). */
  readonly server: EndpointServer;
  readonly #requests = new QueuedIterator<MessageInitShape<I>>();
  readonly #abort = new AbortController();
  #ending: Ending | undefined;
  /** Date.now() of the last answer. */
  lastAnswerAt = Date.now();
  /** Date.now() of the oldest request sent after the last answer, if any. */
  awaitingSince: number | undefined;
  /** Date.now() of the last connection check that was answered (`"connection"` liveness). */
  aliveAt = Number.NEGATIVE_INFINITY;
  /** A connection check is under way. */
  checking = false;
  /** @internal The token the stream carries; set once it opened. */
  _token: string | undefined;
  readonly #channel: EndpointChannel;
  readonly #onHealthy: () => void;

  constructor(channel: EndpointChannel, onHealthy: () => void) {
    this.#channel = channel;
    this.endpoint = channel.endpoint;
    this.server = channel.server;
    this.#onHealthy = onHealthy;
  }

  /**
   * False when the transport's Watch progress notices promise nothing about older events (the gateway
   * transport's), whatever the server's version says.
   */
  get progressCanBeComplete(): boolean {
    return this.#channel.transport.watchProgressComplete !== false;
  }

  /** Sends a request that the server answers (any answer on the stream counts for liveness). */
  send(request: MessageInitShape<I>): void {
    if (this.#ending) return;
    this.awaitingSince ??= Date.now();
    this.#requests.push(request);
  }

  /** The stream did useful work (a watch created, a lease refreshed): the reconnect backoff resets. */
  healthy(): void {
    this.#onHealthy();
  }

  /**
   * The server refused this stream's token without failing the stream (a watch create canceled with
   * "invalid auth token"): drop the token and reopen at once with a fresh one (bounded: repeated
   * refusals back off).
   */
  reauthenticate(): void {
    this.#channel.tokenRejected(this._token);
    this.end({ kind: "reauthenticate" });
  }

  /**
   * The server refused this stream's token as invalid without failing the stream (a watch create
   * canceled with `reason` "invalid auth token"): reopen with a fresh token as {@link reauthenticate}
   * does, or, when the token cannot be refreshed (a fixed `auth.token`), end the owner's work with
   * `InvalidAuthTokenError`.
   */
  tokenRefused(reason: string): void {
    if (this.#channel.tokenRefreshable) {
      this.reauthenticate();
      return;
    }
    const error = new InvalidAuthTokenError(reason, { code: Code.Unauthenticated, endpoint: this.endpoint });
    this.end({ kind: "fatal", error });
  }

  /** Gives the stream up as dead (`reason` says why): its endpoint is marked failed, another opens after backoff. */
  abandon(reason: string): void {
    this.end({ kind: "failed", error: new Error(reason) });
  }

  /** @internal */
  get requests(): AsyncIterable<MessageInitShape<I>> {
    return this.#requests;
  }

  /** @internal */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** @internal How the stream ended, if something decided it. */
  get ending(): Ending | undefined {
    return this.#ending;
  }

  /** @internal Ends the stream (the first reason wins). */
  end(ending: Ending): void {
    this.#ending ??= ending;
    this.#requests.end();
    this.#abort.abort();
  }
}

/**
 * The one resilient stream loop of the client, for the Watch and the LeaseKeepAlive streams: while its
 * owner wants a stream it picks an endpoint from the pool, opens the stream through that endpoint's call
 * pipeline (auth token, `hasleader`), watches its liveness, and when it breaks marks the endpoint failed
 * and reopens after a jittered backoff, on the next healthy endpoint. A stream whose token the server
 * refused is reopened at once with a fresh token; wrong credentials end the owner's work with
 * {@link AuthFailedError}, and a refused fixed `auth.token` with `InvalidAuthTokenError` (one attempt,
 * no loop). A failing `getToken` is retried with backoff, without blaming the endpoint.
 */
export class ResilientStream<I extends DescMessage, O extends DescMessage> {
  readonly #pool: ConnectionPool;
  readonly #method: DescMethodBiDiStreaming<I, O>;
  readonly #owner: StreamOwner<I, O>;
  readonly #settings: StreamSettings;
  readonly #backoff: Backoff;
  readonly #closing = new AbortController();
  #live: LiveStream<I> | undefined;
  #loop: Promise<void> | undefined;
  #wakeLoop: (() => void) | undefined;
  /** Token refusals since the last healthy answer: the first reopens at once, later ones back off. */
  #refusals = 0;

  constructor(
    pool: ConnectionPool,
    method: DescMethodBiDiStreaming<I, O>,
    owner: StreamOwner<I, O>,
    settings: StreamSettings,
  ) {
    this.#pool = pool;
    this.#method = method;
    this.#owner = owner;
    this.#settings = settings;
    this.#backoff = new Backoff(settings.backoff);
  }

  /** The open stream, if any. */
  get live(): LiveStream<I> | undefined {
    return this.#live;
  }

  /** The owner has (new) work: open a stream if none is open. */
  wake(): void {
    if (this.#closing.signal.aborted) return;
    // The loop handles every failure of a stream itself; what could still reject is a bug in an owner's
    // callback, and an unhandled rejection must not take the user's process down with it.
    if (!this.#loop) this.#loop = this.#run().catch(() => {});
    else this.#wakeLoop?.();
  }

  /** The owner has nothing left to keep a stream for: end the open one (a later `wake()` opens another). */
  idle(): void {
    this.#live?.end({ kind: "idle" });
  }

  /** Ends the stream and the loop for good. */
  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort(new ClientClosedError());
      this.#live?.end({ kind: "closed" });
      this.#wakeLoop?.();
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    const closing = this.#closing.signal;
    while (!closing.aborted) {
      if (!this.#owner.wanted()) {
        await new Promise<void>((resolve) => {
          this.#wakeLoop = resolve;
        });
        this.#wakeLoop = undefined;
        continue;
      }
      let channel: EndpointChannel;
      try {
        channel = this.#pool.pick();
      } catch {
        return; // the pool is closed: so is the client
      }
      // Made for every stream (streams open rarely), so a subscriber that came while it was open still
      // hears how it ended.
      const observed: StreamEvent = {
        method: methodNames(this.#method).method,
        endpoint: channel.endpoint,
        opened: false,
      };
      const ending = await this.#runOnce(channel, observed);
      const { streamClose } = this.#pool.diagnostics;
      if (streamClose.hasSubscribers) {
        observed.reason = ending.kind;
        if (ending.kind === "failed" || ending.kind === "fatal") observed.error = ending.error;
        streamClose.publish(observed);
      }
      if (closing.aborted) return;
      switch (ending.kind) {
        case "closed":
        case "idle":
          continue;
        case "fatal":
          this.#owner.failed(ending.error);
          continue;
        case "reauthenticate":
          if (++this.#refusals === 1) continue;
          break;
        case "failed":
          // The user's getToken failing says nothing about the endpoint.
          if (!(ending.error instanceof GetTokenError)) this.#pool.markFailed(channel.endpoint, ending.error);
          break;
      }
      await sleep(this.#backoff.next(), closing);
    }
  }

  /** Runs one stream until it ends; says how. `observed` is published on `etcd-ts:stream:open` once it opened. */
  async #runOnce(channel: EndpointChannel, observed: StreamEvent): Promise<Ending> {
    const live = new LiveStream<I>(channel, () => {
      this.#backoff.reset();
      this.#refusals = 0;
    });
    this.#live = live;
    const closing = this.#closing.signal;
    const onClose = () => live.end({ kind: "closed" });
    closing.addEventListener("abort", onClose, { once: true });
    const monitor = this.#monitor(live, channel);
    try {
      this.#owner.opened(live);
      // `hasleader` (the client's requireLeader): a member cut off from its leader fails the stream
      // instead of going silent.
      const stream = await channel.open({ method: this.#method }, live.requests, live.signal);
      live._token = stream.token;
      observed.opened = true;
      const { streamOpen } = this.#pool.diagnostics;
      if (streamOpen.hasSubscribers) streamOpen.publish(observed);
      const onMessage = (message: MessageShape<O>) => {
        live.lastAnswerAt = Date.now();
        live.awaitingSince = undefined;
        this.#owner.received(live, message);
      };
      try {
        // Our HTTP/2 transport hands each answer over as it arrives, without a promise per message
        // (10,000 kept leases get some 1,000 answers a second); the loop then only sees the end.
        pushedMessages<MessageShape<O>>(stream.messages)?.deliverTo(onMessage);
        for await (const message of stream.messages) onMessage(message);
      } catch (err) {
        if (live.ending) return live.ending;
        throw channel.failure(err, stream.token);
      }
      return live.ending ?? { kind: "failed", error: new Error("the server ended the stream") };
    } catch (err) {
      if (live.ending) return live.ending;
      if (err instanceof AuthFailedError) return { kind: "fatal", error: err };
      if (err instanceof InvalidAuthTokenError)
        return channel.tokenRefreshable ? { kind: "reauthenticate" } : { kind: "fatal", error: err };
      return { kind: "failed", error: err as Error };
    } finally {
      clearInterval(monitor);
      closing.removeEventListener("abort", onClose);
      live.end({ kind: "closed" });
      if (this.#live === live) this.#live = undefined;
      this.#owner.ended(live);
    }
  }

  /**
   * The stream's liveness monitor (see {@link StreamLiveness}): with `"answers"`, a request unanswered for
   * the answer timeout gets the stream abandoned; with `"connection"`, silence gets the connection
   * checked and an unanswered check gets the stream abandoned. Unref'd: what the stream serves holds the
   * process.
   */
  #monitor(live: LiveStream<I>, channel: EndpointChannel): ReturnType<typeof setInterval> {
    const { idleTimeoutMs, answerTimeoutMs } = this.#settings;
    const byConnection = this.#owner.liveness === "connection";
    const shortest = Math.min(idleTimeoutMs > 0 ? idleTimeoutMs : answerTimeoutMs, answerTimeoutMs);
    const timer = setInterval(
      () => {
        const now = Date.now();
        const limit = Math.min(answerTimeoutMs, this.#owner.answerTimeoutMs?.() ?? answerTimeoutMs);
        if (!byConnection) {
          if (live.awaitingSince !== undefined && now - live.awaitingSince > limit)
            live.abandon(`no answer on the stream for ${now - live.lastAnswerAt} ms`);
          return;
        }
        if (live.checking) return;
        // A request waiting since before the last answered check waits on: the connection was fine then.
        const due =
          live.awaitingSince !== undefined
            ? now - Math.max(live.awaitingSince, live.aliveAt) > limit
            : idleTimeoutMs > 0 && now - Math.max(live.lastAnswerAt, live.aliveAt) >= idleTimeoutMs;
        if (due) this.#checkConnection(live, channel, limit);
      },
      Math.max(50, Math.min(250, shortest / 4)),
    );
    (timer as { unref?: () => void }).unref?.();
    return timer;
  }

  /** Checks the stream's connection; abandons the stream when the check goes unanswered for `limit` ms. */
  #checkConnection(live: LiveStream<I>, channel: EndpointChannel, limit: number): void {
    live.checking = true;
    void channel.checkConnection(limit, live.signal).then((alive) => {
      live.checking = false;
      if (alive) live.aliveAt = Date.now();
      else
        live.abandon(
          `the connection did not answer a liveness check within ${limit} ms (no answer on the stream for ${Date.now() - live.lastAnswerAt} ms)`,
        );
    });
  }
}

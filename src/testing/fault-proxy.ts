import { connect, createServer, type Server, type Socket } from "node:net";
import { InvalidArgumentError, shownInput } from "../client/core/index.js";

/** Where a {@link FaultProxy} forwards: `"host:port"`, a URL such as `http://127.0.0.1:2379`, or parts. */
export type FaultProxyTarget = string | { host: string; port: number };

/** Which bytes `blackhole()` drops: from the client to the server, back, both ways, or none. */
export type BlackholeDirection = "client-to-server" | "server-to-client" | "both" | "none";

/** One direction of one proxied connection. */
interface Pipe {
  from: Socket;
  to: Socket;
  drops: (direction: BlackholeDirection) => boolean;
  /** When the last delayed chunk is due; later chunks never overtake it. */
  releaseAt: number;
  /** Chunks of this direction waiting on a timer. */
  pending: number;
}

/** A client connection and its upstream twin. */
interface Link {
  client: Socket;
  upstream: Socket;
  timers: Set<NodeJS.Timeout>;
  /** Sockets of the pair that have closed; the link is gone at two. */
  closed: number;
}

/**
 * A TCP proxy on 127.0.0.1 in front of one target, for injecting network faults into tests: cut open
 * connections (now, or after a number of bytes from the target), refuse new ones, add latency, silently
 * drop bytes in one direction while connections stay open, or send new connections to another target.
 * Every socket and timer is released by `close()`.
 */
export class FaultProxy implements AsyncDisposable {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  readonly #server: Server;
  #host: string;
  #targetPort: number;
  readonly #links = new Set<Link>();
  /** `bytesFromServer` at which every connection is cut (once), if armed by `cutAfter()`. */
  #cutAt: number | undefined;
  #refusing = false;
  #delayMs = 0;
  #blackhole: BlackholeDirection = "none";
  #bytesFromClients = 0;
  #bytesFromServer = 0;
  #closed: Promise<void> | undefined;

  private constructor(server: Server, port: number, host: string, targetPort: number) {
    this.#server = server;
    this.port = port;
    this.#host = host;
    this.#targetPort = targetPort;
  }

  /** The target new connections go to, as `host:port`. */
  get target(): string {
    return `${this.#host}:${this.#targetPort}`;
  }

  /** Bytes received from clients so far (counted before any blackhole drops them). */
  get bytesFromClients(): number {
    return this.#bytesFromClients;
  }

  /** Bytes received from the target so far (counted before any blackhole drops them). */
  get bytesFromServer(): number {
    return this.#bytesFromServer;
  }

  /** Starts a proxy on 127.0.0.1 and a free port, forwarding to `target` (a bad one rejects). */
  static async start(target: FaultProxyTarget): Promise<FaultProxy> {
    const { host, port } = parseTarget(target);
    // Half-open sockets let a FIN travel through the delay queue behind the data it follows.
    const server = createServer({ noDelay: true, allowHalfOpen: true });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        const address = server.address();
        if (!address || typeof address !== "object") {
          server.close();
          reject(new Error("could not read the port of the fault proxy"));
          return;
        }
        const proxy = new FaultProxy(server, address.port, host, port);
        server.on("connection", (socket) => proxy.#accept(socket));
        resolve(proxy);
      });
    });
  }

  /** `http://127.0.0.1:<port>`, to use as an endpoint in place of the target's. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Number of proxied connections open now. */
  get connections(): number {
    return this.#links.size;
  }

  /** Resets every open connection now (both sides see a TCP RST); new connections are still accepted. */
  cut(): void {
    for (const link of [...this.#links]) this.#drop(link, true);
  }

  /**
   * Cuts every open connection (as `cut()`) once `bytes` more bytes came from the target, counted from
   * this call: in the middle of a large answer, at the same place in it on every run (give or take one
   * TCP read). Once; call it again to arm it again.
   */
  cutAfter(bytes: number): void {
    if (!(Number.isSafeInteger(bytes) && bytes > 0))
      throw new InvalidArgumentError("bytes", `must be an integer > 0, got ${bytes}`);
    this.#cutAt = this.#bytesFromServer + bytes;
  }

  /**
   * Sends new connections to `target` from now on (a member replaced by another process, e.g. of another
   * release, behind the same address); open connections stay where they are until cut.
   */
  retarget(target: FaultProxyTarget): void {
    const { host, port } = parseTarget(target);
    this.#host = host;
    this.#targetPort = port;
  }

  /** While on, new connections are closed as soon as they are accepted. Default off. */
  refuse(on = true): void {
    this.#refusing = on;
  }

  /** Adds `ms` of latency to every chunk, both ways (order is kept). 0 turns it off. */
  delay(ms: number): void {
    if (!(ms >= 0)) throw new InvalidArgumentError("ms", `a delay must be >= 0 ms, got ${ms}`);
    this.#delayMs = ms;
  }

  /**
   * Silently drops bytes in `direction`, and the end-of-stream too, so connections stay open and simply
   * go quiet, like a partitioned network; `"none"` stops dropping (what was dropped stays lost).
   */
  blackhole(direction: BlackholeDirection): void {
    this.#blackhole = direction;
  }

  /** Clears every fault: no refusing, no delay, no blackhole. Cut connections stay cut. */
  heal(): void {
    this.#refusing = false;
    this.#delayMs = 0;
    this.#blackhole = "none";
  }

  /** Stops listening and destroys every connection and pending timer; safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.cut();
    });
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #accept(client: Socket): void {
    if (this.#refusing || this.#closed) {
      client.destroy();
      return;
    }
    const upstream = connect({
      host: this.#host,
      port: this.#targetPort,
      noDelay: true,
      allowHalfOpen: true,
    });
    const link: Link = { client, upstream, timers: new Set(), closed: 0 };
    this.#links.add(link);
    // An error (reset, refused upstream) ends the pair at once, like a broken network path. A clean close
    // of one side only ends the other after the data still queued for it, so delayed answers arrive.
    const drop = () => this.#drop(link);
    for (const socket of [client, upstream]) {
      socket.on("error", drop);
      socket.on("close", () => {
        if (++link.closed === 2) this.#drop(link);
      });
    }
    this.#forward(link, {
      from: client,
      to: upstream,
      drops: (d) => d === "client-to-server" || d === "both",
      releaseAt: 0,
      pending: 0,
    });
    this.#forward(link, {
      from: upstream,
      to: client,
      drops: (d) => d === "server-to-client" || d === "both",
      releaseAt: 0,
      pending: 0,
    });
  }

  #forward(link: Link, pipe: Pipe): void {
    const { from, to } = pipe;
    // Runs `action` now, or after the delay but never before what was delayed earlier in this direction.
    const schedule = (action: () => void) => {
      const now = Date.now();
      const due = Math.max(now + this.#delayMs, pipe.releaseAt);
      if (due <= now && pipe.pending === 0) {
        action();
        return;
      }
      pipe.releaseAt = due;
      pipe.pending++;
      const timer = setTimeout(() => {
        link.timers.delete(timer);
        pipe.pending--;
        action();
      }, due - now);
      link.timers.add(timer);
    };
    const toServer = from === link.client;
    from.on("data", (chunk: Buffer) => {
      if (toServer) this.#bytesFromClients += chunk.length;
      else this.#bytesFromServer += chunk.length;
      if (!toServer && this.#cutAt !== undefined && this.#bytesFromServer >= this.#cutAt) {
        this.#cutAt = undefined;
        this.cut();
        return;
      }
      if (pipe.drops(this.#blackhole)) return;
      schedule(() => {
        if (to.destroyed) return;
        if (!to.write(chunk)) {
          from.pause();
          to.once("drain", () => from.resume());
        }
      });
    });
    // A blackhole swallows the FIN too: to the other side the connection just goes silent.
    const endPeer = () => {
      if (pipe.drops(this.#blackhole)) return;
      schedule(() => {
        if (!to.destroyed && !to.writableEnded) to.end();
      });
    };
    from.on("end", endPeer);
    from.on("close", endPeer);
  }

  #drop(link: Link, reset = false): void {
    if (!this.#links.delete(link)) return;
    for (const timer of link.timers) clearTimeout(timer);
    link.timers.clear();
    // A cut is a broken path: both ends see a TCP reset, as after a middlebox or host failure.
    if (reset && !link.client.destroyed) link.client.resetAndDestroy();
    else link.client.destroy();
    if (reset && !link.upstream.destroyed) link.upstream.resetAndDestroy();
    else link.upstream.destroy();
  }
}

function parseTarget(target: FaultProxyTarget): { host: string; port: number } {
  if (typeof target !== "string") {
    const t = target as Partial<{ host: unknown; port: unknown }> | null;
    if (
      t === null ||
      typeof t !== "object" ||
      typeof t.host !== "string" ||
      typeof t.port !== "number" ||
      !Number.isInteger(t.port) ||
      t.port <= 0
    )
      throw new InvalidArgumentError(
        "target",
        `must be a URL, "host:port" or { host, port }, got ${shownInput(target)}`,
      );
    return target;
  }
  if (target.includes("://")) {
    const url = new URL(target);
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    return { host: url.hostname.replace(/^\[|\]$/g, ""), port };
  }
  const colon = target.lastIndexOf(":");
  const port = Number(target.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port <= 0)
    throw new InvalidArgumentError("target", `not a host:port target: ${target}`);
  return { host: target.slice(0, colon).replace(/^\[|\]$/g, ""), port };
}

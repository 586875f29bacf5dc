import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "../../src/testing/ports.js";

/**
 * A tiny TCP proxy on 127.0.0.1 for fault tests (a stand-in until the test kit's `FaultProxy` lands):
 * forwards every connection to `target`, can cut all live connections at once, and can refuse new ones.
 */
export class TcpProxy implements AsyncDisposable {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #refusing = false;
  /** Connections accepted so far. */
  accepted = 0;
  /** The proxy's URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;

  private constructor(server: Server, port: number, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
    this.url = `http://127.0.0.1:${port}`;
    server.on("connection", (client) => this.#accept(client));
  }

  /** Starts a proxy to `targetUrl` (e.g. an etcd client URL) on a free port. */
  static async start(targetUrl: string): Promise<TcpProxy> {
    const target = new URL(targetUrl);
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    return new TcpProxy(server, port, { host: target.hostname, port: Number(target.port) });
  }

  /** Number of live proxied connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Destroys every live connection (both sides), as a network cut would. */
  cutAll(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  /** While true, new connections are accepted and closed at once. */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /** Stops listening and cuts everything. */
  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #accept(client: Socket): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = createConnection(this.#target);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

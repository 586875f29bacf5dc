import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "../../src/testing/ports.js";

/**
 * A minimal TCP fault proxy on 127.0.0.1 for retry tests (to be replaced by the test kit's
 * FaultProxy): forwards to `target`, can swallow responses (the request still reaches the server),
 * and can reset every connection at once.
 */
export class TcpProxy implements AsyncDisposable {
  readonly port: number;
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  /** While true, bytes from the server are dropped: requests arrive, answers never come back. */
  dropResponses = false;
  /** Bytes forwarded from clients to the server so far. */
  bytesUp = 0;

  private constructor(port: number, server: Server) {
    this.port = port;
    this.#server = server;
  }

  /** Starts a proxy to `127.0.0.1:targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const port = await freePort();
    const server = createServer();
    const proxy = new TcpProxy(port, server);
    server.on("connection", (client) => proxy.#accept(client, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  /** The proxy's URL, e.g. `http://127.0.0.1:40001`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Number of proxied connections open now. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Destroys every proxied connection in both directions (the client sees a reset). */
  resetAll(): void {
    for (const [a, b] of this.#pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    this.#pairs.clear();
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #accept(client: Socket, targetPort: number): void {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    client.on("data", (chunk) => {
      this.bytesUp += chunk.length;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!this.dropResponses) client.write(chunk);
    });
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  }
}

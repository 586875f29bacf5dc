import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd, type EtcdOptions, Http2ConnectionError, UnavailableError } from "../../src/client/index.js";
import {
  type Certificates,
  type EtcdCluster,
  FaultProxy,
  generateCertificates,
  startEtcd,
} from "../../src/testing/index.js";
import { compiled } from "../support/compiled.js";
import { until } from "../support/wait.js";

const execFileAsync = promisify(execFile);

/**
 * An endpoint that accepts TCP connections (and, with `tls`, completes the TLS handshake with ALPN h2)
 * but never writes a byte: a hung process behind a live listen socket, or a port taken by something that
 * is not etcd. `accepted` counts connections, to show the client really tried it.
 */
interface SilentEndpoint {
  readonly url: string;
  readonly accepted: number;
  /** Accepted connections not closed yet. */
  readonly open: number;
  close(): Promise<void>;
}

/** `error` and its causes, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && chain.length < 10; e = (e as { cause?: unknown } | null)?.cause)
    chain.push(e);
  return chain;
}

async function startSilent(certs?: Certificates): Promise<SilentEndpoint> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const keep = (socket: Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    // Reads (and drops) what arrives, so that the client's close is noticed.
    socket.resume();
  };
  const server: Server = certs
    ? createTlsServer({ key: certs.key, cert: certs.cert, ALPNProtocols: ["h2"] }, keep)
    : createTcpServer(keep);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${certs ? "https" : "http"}://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let cluster: EtcdCluster;
let silent: SilentEndpoint;
const clients: Etcd[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  silent = await startSilent();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await silent?.close();
  await cluster?.close();
});

/**
 * A client whose calls have a deadline far longer than its connect timeout. Its keepalive pings come
 * later than that deadline: an unanswered ping would also end the wait on a silent endpoint, and only
 * the connect timeout may do that here.
 */
function client(endpoints: string[], options: Partial<EtcdOptions> = {}): Etcd {
  const c = new Etcd({
    endpoints,
    connectTimeoutMs: 1_000,
    timeoutMs: 20_000,
    keepaliveIntervalMs: 60_000,
    retry: { initialBackoffMs: 20, maxBackoffMs: 200 },
    ...options,
  });
  clients.push(c);
  return c;
}

/** The rejection of `promise`, failing the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a failure, got ${String(value)}`);
    },
    (err: unknown) => err,
  );
}

describe("connectTimeoutMs covers the HTTP/2 handshake", () => {
  it("moves a put and a get past an endpoint that accepts TCP but never speaks HTTP/2", async () => {
    const before = silent.accepted;
    const etcd = client([silent.url, cluster.endpoint]);
    // A put is a write: it may move on only because the request provably never left.
    await etcd.put("ct/put", "v1");
    expect(silent.accepted).toBeGreaterThan(before);
    expect((await etcd.get("ct/put"))?.text()).toBe("v1");
    // The silent endpoint answers nothing, so the value was written by, and read from, the live member.
    const direct = client([cluster.endpoint]);
    expect((await direct.get("ct/put"))?.text()).toBe("v1");
  });

  it("moves a get alone (the first call of a client) past the silent endpoint", async () => {
    await client([cluster.endpoint]).put("ct/get", "v2");
    const etcd = client([silent.url, cluster.endpoint]);
    expect((await etcd.get("ct/get"))?.text()).toBe("v2");
  });

  it("fails with UnavailableError naming the connect timeout and the endpoint, not at the deadline", async () => {
    const etcd = client([silent.url], { retry: { maxAttempts: 1 } });
    const error = await rejection(etcd.get("ct/none"));
    // DeadlineExceededError would mean the call waited for its 20 s deadline.
    expect(error).toBeInstanceOf(UnavailableError);
    const e = error as UnavailableError;
    expect(e.endpoint).toBe(silent.url);
    expect(e.message).toContain(silent.url);
    expect(e.message).toContain("within 1000 ms (connectTimeoutMs)");
    expect(e.message).toContain("no HTTP/2 SETTINGS");
    // The reason a program can branch on: the transport's Http2ConnectionError in the cause chain.
    const reason = causes(e).find((c) => c instanceof Http2ConnectionError);
    expect(reason, "an Http2ConnectionError among the causes").toBeInstanceOf(Http2ConnectionError);
    expect((reason as Http2ConnectionError).code).toBe("CONNECT_TIMEOUT");
  });

  it("fails with UnavailableError naming the connect timeout when the deadline passes during a retry", async () => {
    // The default shape (connectTimeoutMs 5000 within timeoutMs 10000, retries on), scaled down: the
    // first attempt gives up on the handshake, a retry starts and is still connecting at the deadline.
    // Before, that ended as DeadlineExceededError ("the operation timed out"): a put's outcome unknown.
    const etcd = client([silent.url], { connectTimeoutMs: 1_000, timeoutMs: 1_500, retry: {} });
    for (const call of [() => etcd.get("ct/none"), () => etcd.put("ct/none", "v")]) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(UnavailableError);
      const e = error as UnavailableError;
      expect(e.message).toContain("within 1000 ms (connectTimeoutMs)");
      expect(e.message).toContain("no HTTP/2 SETTINGS");
      expect(e.endpoint).toBe(silent.url);
    }
  });

  it("delivers a watch's event when the silent endpoint comes first", async () => {
    const writer = client([cluster.endpoint]);
    const { revision } = await writer.put("ct/watched", "before");
    // The watch stream's own liveness checks come later than the connect timeout, so only the connect
    // timeout can move the stream on.
    const etcd = client([silent.url, cluster.endpoint], {
      streams: { idleTimeoutMs: 0, probeTimeoutMs: 60_000 },
    });
    // From the next revision, so the event is delivered however late the stream reaches the live member.
    // The signal only catches a hang: it ends the watch, and the test then fails naming what hung.
    const watcher = etcd.watch("ct/watched", {
      startRevision: revision + 1n,
      signal: AbortSignal.timeout(20_000),
    });
    const values: string[] = [];
    try {
      await writer.put("ct/watched", "after");
      for await (const batch of watcher) {
        values.push(...batch.events.map((e) => new TextDecoder().decode(e.kv?.value)));
        if (values.length > 0) break;
      }
    } catch {
      // Ended by the hang-catching signal: the assertion below says what was missing.
    } finally {
      watcher.close();
    }
    expect(values, "the watch's event, delivered by the live member").toEqual(["after"]);
  });

  it("still connects to a slow but live member (the handshake takes several round trips)", async () => {
    const proxy = await FaultProxy.start(cluster.endpoint);
    try {
      // 150 ms each way: TCP, SETTINGS and the call each pay it, well inside the connect timeout.
      proxy.delay(150);
      const etcd = client([proxy.url], { connectTimeoutMs: 3_000, retry: { maxAttempts: 1 } });
      await etcd.put("ct/slow", "v3");
      expect((await etcd.get("ct/slow"))?.text()).toBe("v3");
      await etcd.close();
    } finally {
      await proxy.close();
    }
  });

  it("closes every socket, to the silent endpoint and to the live one, on close()", async () => {
    const ownSilent = await startSilent();
    const proxy = await FaultProxy.start(cluster.endpoint);
    try {
      const etcd = client([ownSilent.url, proxy.url]);
      await etcd.put("ct/sockets", "v");
      const watcher = etcd.watch("ct/sockets", { startRevision: 1n });
      for await (const batch of watcher) if (batch.events.length > 0) break;
      expect(ownSilent.accepted).toBeGreaterThan(0);
      expect(proxy.connections).toBeGreaterThan(0);
      await etcd.close();
      // Seen from the servers' side: each socket of the client was closed.
      await until("the silent endpoint's connections to close", () => ownSilent.open === 0);
      await until("the live endpoint's connections to close", () => proxy.connections === 0);
    } finally {
      await proxy.close();
      await ownSilent.close();
    }
  });

  it("leaves nothing that holds the process once closed after giving up on the silent endpoint", async () => {
    const fixture = fileURLToPath(new URL("../fixtures/connect-timeout-client.ts", import.meta.url));
    const { stdout } = await execFileAsync(
      process.execPath,
      [compiled(fixture), silent.url, cluster.endpoint],
      // Only catches a hang: a socket or ref'd timer left behind would keep the child from exiting.
      { timeout: 25_000 },
    );
    const report = JSON.parse(stdout) as { value: string; resources: string[] };
    expect(report.value).toBe("fixture");
    expect(report.resources.filter((r) => /TCP|TLS|Timeout|Immediate/.test(r))).toEqual([]);
  });
});

describe("connectTimeoutMs over TLS", () => {
  let certs: Certificates | undefined;
  let silentTls: SilentEndpoint | undefined;

  beforeAll(async () => {
    certs = await generateCertificates();
    silentTls = await startSilent(certs);
  });

  afterAll(async () => {
    await silentTls?.close();
    if (certs) await rm(certs.dir, { recursive: true, force: true });
  });

  it("gives up on an endpoint that completes the TLS handshake but never speaks HTTP/2", async () => {
    const etcd = client([silentTls!.url], { tls: { ca: certs!.ca }, retry: { maxAttempts: 1 } });
    const error = await rejection(etcd.put("ct/tls", "v"));
    expect(error).toBeInstanceOf(UnavailableError);
    const e = error as UnavailableError;
    expect(e.endpoint).toBe(silentTls!.url);
    expect(e.message).toContain("within 1000 ms (connectTimeoutMs)");
    // The stage shows the TLS handshake itself completed: only the server's SETTINGS were missing.
    expect(e.message).toContain("no HTTP/2 SETTINGS");
    expect(silentTls!.accepted).toBeGreaterThan(0);
  });
});

import { EventEmitter } from "node:events";
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { Maintenance, StatusRequestSchema, StatusResponseSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { freePort } from "../../src/testing/index.js";

/**
 * The test service: etcd's own `Maintenance/Status` descriptor, served by a tiny server that answers with
 * its own address in `version`. Reusing a generated descriptor keeps the tests free of codegen; the
 * method has no idempotency option, so retries are only what the test's predicate allows.
 */
export const TestService = Maintenance;

/** A connect-node HTTP/2 server on a free loopback port that answers Status with its address. */
export class ConnectTestServer {
  readonly addr: string;
  readonly #server: http2.Http2Server;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  calls = 0;
  /** Emits "call" as each Status call arrives (before it is held or answered). */
  readonly events = new EventEmitter();
  /** When set, Status fails with this code (an answer from a live server). */
  failWith: Code | undefined;
  /** When set, the n-th Status call from then on fails with entry n mod length (undefined: it answers). */
  failCycle: readonly (Code | undefined)[] | undefined;
  #cycled = 0;
  /** While set, Status calls wait for it before answering: they stay in flight. */
  #gate: Promise<void> | undefined;

  private constructor(addr: string, server: http2.Http2Server) {
    this.addr = addr;
    this.#server = server;
    server.on("session", (s) => {
      this.#sessions.add(s);
      s.on("close", () => this.#sessions.delete(s));
    });
  }

  /** Starts on `port` (default a free one; pass a stopped server's port to bring it back on its address). */
  static async start(delayMs = 0, port?: number): Promise<ConnectTestServer> {
    port ??= await freePort();
    let self: ConnectTestServer | undefined;
    const routes = (router: ConnectRouter) =>
      router.service(Maintenance, {
        async status() {
          self!.calls++;
          self!.events.emit("call");
          if (self!.#gate) await self!.#gate;
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          if (self!.failWith !== undefined) throw new ConnectError("told to fail", self!.failWith);
          const cycle = self!.failCycle;
          const code = cycle?.[self!.#cycled++ % cycle.length];
          if (code !== undefined) throw new ConnectError("told to fail this time", code);
          return { version: self!.addr };
        },
      });
    const server = http2.createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    self = new ConnectTestServer(`127.0.0.1:${port}`, server);
    return self;
  }

  /** Keeps every Status call that arrives from now on in flight, until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      this.#gate = undefined;
      release();
    };
  }

  /** Stops accepting and waits for calls in flight (a graceful shutdown); sends GOAWAY to clients. */
  async shutdown(): Promise<void> {
    for (const s of this.#sessions) s.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Dies at once: every connection is destroyed. */
  kill(): void {
    for (const s of this.#sessions) s.destroy();
    this.#server.close();
  }
}

/** A grpc-js server on a free loopback port that answers Status with its address. */
export class GrpcTestServer {
  readonly addr: string;
  readonly #server: grpc.Server;
  calls = 0;
  /** Status calls being answered now. */
  inFlight = 0;

  private constructor(addr: string, server: grpc.Server) {
    this.addr = addr;
    this.#server = server;
  }

  /** Starts on `port` (default a free one), answering each call after `delayMs`. */
  static async start(delayMs = 0, port?: number): Promise<GrpcTestServer> {
    port ??= await freePort();
    const server = new grpc.Server();
    let self: GrpcTestServer | undefined;
    server.addService(
      {
        status: {
          path: "/etcdserverpb.Maintenance/Status",
          requestStream: false,
          responseStream: false,
          requestSerialize: (m: unknown) => Buffer.from(toBinary(StatusRequestSchema, m as never)),
          requestDeserialize: (b: Buffer) => fromBinary(StatusRequestSchema, b),
          responseSerialize: (m: unknown) => Buffer.from(toBinary(StatusResponseSchema, m as never)),
          responseDeserialize: (b: Buffer) => fromBinary(StatusResponseSchema, b),
        },
      },
      {
        status: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
          const me = self!;
          me.calls++;
          me.inFlight++;
          const answer = () => {
            me.inFlight--;
            callback(null, create(StatusResponseSchema, { version: me.addr }));
          };
          if (delayMs > 0) setTimeout(answer, delayMs);
          else answer();
        },
      },
    );
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    self = new GrpcTestServer(`127.0.0.1:${port}`, server);
    return self;
  }

  /** Stops accepting (GOAWAY to clients) and waits for the calls in flight to finish. */
  shutdown(): Promise<void> {
    return new Promise((resolve) => this.#server.tryShutdown(() => resolve()));
  }

  /** Stops at once. */
  kill(): void {
    this.#server.forceShutdown();
  }
}

/** Calls Status through a grpc-js client and returns the answering server's address. */
export function grpcStatus(
  client: grpc.Client,
  deadlineMs = 5000,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/etcdserverpb.Maintenance/Status",
      (m: unknown) => Buffer.from(toBinary(StatusRequestSchema, m as never)),
      (b: Buffer) => fromBinary(StatusResponseSchema, b),
      create(StatusRequestSchema, {}),
      metadata,
      { deadline: Date.now() + deadlineMs },
      (err, res) => (err ? reject(err) : resolve(res!.version)),
    );
  });
}

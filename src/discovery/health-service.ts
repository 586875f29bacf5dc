import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { checkOptionsObject, EventEmitter, InvalidArgumentError, shownInput } from "../client/core/index.js";
import {
  Health,
  type HealthCheckRequest,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthListRequestSchema,
  HealthListResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../gen/grpc/health/v1/health_pb.js";

/** The status a server gives one of its services. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

/** The part of a grpc-js `Server` that {@link HealthStatus.addToGrpcServer} uses (no import of grpc-js). */
export interface GrpcJsServerLike {
  addService(service: never, implementation: never): void;
}

/** grpc-js' NOT_FOUND status code. */
const GRPC_NOT_FOUND = 5;

/**
 * The serving status of a server's services, served as gRPC's standard `grpc.health.v1.Health` (Check,
 * List, Watch) on a Connect router ({@link connectRoutes}) or a grpc-js server ({@link addToGrpcServer}).
 * Pass it to `register()` as `health`: `drain()` and `deregister()` then make every service NOT_SERVING
 * (as grpc-go's `health.Server.Shutdown()`), so clients with active health checks stop sending calls
 * even before they see the drain in etcd. A service never set is unknown: `Check` answers NOT_FOUND,
 * `Watch` SERVICE_UNKNOWN (gRPC's rules).
 */
export class HealthStatus {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #changes = new EventEmitter<{ change: [string] }>();
  /** Aborted by {@link endWatches} (then replaced): ends the Watch streams open at that time. */
  #ending = new AbortController();
  #shutDown = false;

  /**
   * `statuses` are the initial ones. Default `{ "": "SERVING" }`: the server as a whole serves (what a
   * health client asks when it names no service).
   */
  constructor(statuses: Readonly<Record<string, ServingStatus>> = { "": "SERVING" }) {
    checkOptionsObject(statuses, "statuses", false);
    for (const [service, status] of Object.entries(statuses)) this.set(service, status);
    // One listener per open Watch stream.
    this.#changes.setMaxListeners(0);
  }

  /** Sets the status of `service` (`""`: the server as a whole). Ignored after {@link shutdown} until {@link resume}. */
  set(service: string, status: ServingStatus): void {
    if (typeof service !== "string")
      throw new InvalidArgumentError("service", `must be a string, got ${shownInput(service)}`);
    if (status !== "SERVING" && status !== "NOT_SERVING")
      throw new InvalidArgumentError(
        "status",
        `must be "SERVING" or "NOT_SERVING", got ${shownInput(status)}`,
      );
    if (this.#shutDown) return;
    this.#put(service, status);
  }

  /** The status of `service`; undefined when it was never set. */
  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** True after {@link shutdown} (and before {@link resume}). */
  get isShutDown(): boolean {
    return this.#shutDown;
  }

  /**
   * Makes every service NOT_SERVING and ignores later {@link set}s: the server is going away. `drain()`
   * and `deregister()` of a registration given this status call it. Idempotent.
   */
  shutdown(): void {
    this.#shutDown = true;
    for (const service of [...this.#statuses.keys()]) this.#put(service, "NOT_SERVING");
  }

  /**
   * Ends every `Watch` stream open now (with OK, after the messages already sent), so that a graceful
   * server stop does not wait for them: HTTP/2 servers wait for open streams, and a health client that
   * is not told the server is going (one that does not follow etcd) would keep its Watch open.
   * `deregister()` of a registration given this status calls it after {@link shutdown}. Watches opened
   * later are served as usual.
   */
  endWatches(): void {
    this.#ending.abort();
    this.#ending = new AbortController();
  }

  /** Makes every service SERVING again and accepts {@link set}s again (grpc-go's `Resume()`). */
  resume(): void {
    this.#shutDown = false;
    for (const service of [...this.#statuses.keys()]) this.#put(service, "SERVING");
  }

  /**
   * Adds the Health service to a Connect router (connect-node, connect-fastify, ...): use it inside
   * your `routes` function, `(router) => { router.service(Greeter, impl); health.connectRoutes(router); }`.
   * Returns the router.
   */
  connectRoutes(router: ConnectRouter): ConnectRouter {
    const self = this;
    return router.service(Health, {
      check: (req) => ({ status: self.#checked(req.service) }),
      list: () => ({
        statuses: Object.fromEntries([...self.#statuses.keys()].map((s) => [s, { status: self.#wire(s) }])),
      }),
      async *watch(req, ctx) {
        yield* self.#watch(req.service, ctx.signal);
      },
    });
  }

  /** Adds the Health service to a grpc-js `Server` (before it starts). */
  addToGrpcServer(server: GrpcJsServerLike): void {
    const method = <I, O>(
      name: string,
      responseStream: boolean,
      input: { fromBinary(b: Uint8Array): I },
      output: { toBinary(m: O): Uint8Array },
    ) => ({
      path: `/grpc.health.v1.Health/${name}`,
      requestStream: false,
      responseStream,
      requestSerialize: (m: never) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
      requestDeserialize: (b: Buffer) => input.fromBinary(b),
      responseSerialize: (m: O) => Buffer.from(output.toBinary(m)),
      responseDeserialize: (b: Buffer) => b,
    });
    const checkReq = { fromBinary: (b: Uint8Array) => fromBinary(HealthCheckRequestSchema, b) };
    const checkRes = {
      toBinary: (m: MessageInitShape<typeof HealthCheckResponseSchema>) =>
        toBinary(HealthCheckResponseSchema, create(HealthCheckResponseSchema, m)),
    };
    const definition = {
      check: method("Check", false, checkReq, checkRes),
      watch: method("Watch", true, checkReq, checkRes),
      list: method(
        "List",
        false,
        { fromBinary: (b: Uint8Array) => fromBinary(HealthListRequestSchema, b) },
        {
          toBinary: (m: MessageInitShape<typeof HealthListResponseSchema>) =>
            toBinary(HealthListResponseSchema, create(HealthListResponseSchema, m)),
        },
      ),
    };
    type Callback = (error: { code: number; details: string } | null, value?: unknown) => void;
    interface UnaryCall {
      request: HealthCheckRequest;
    }
    interface StreamCall extends UnaryCall {
      write(message: unknown): boolean;
      on(event: "cancelled" | "close", listener: () => void): void;
      end(): void;
    }
    const implementation = {
      check: (call: UnaryCall, callback: Callback) => {
        const status = this.#statuses.get(call.request.service);
        if (status === undefined)
          callback({ code: GRPC_NOT_FOUND, details: `unknown service ${call.request.service}` });
        else callback(null, { status: this.#wire(call.request.service) });
      },
      list: (_call: unknown, callback: Callback) =>
        callback(null, {
          statuses: Object.fromEntries([...this.#statuses.keys()].map((s) => [s, { status: this.#wire(s) }])),
        }),
      watch: (call: StreamCall) => {
        const ended = new AbortController();
        call.on("cancelled", () => ended.abort());
        call.on("close", () => ended.abort());
        void (async () => {
          for await (const message of this.#watch(call.request.service, ended.signal)) call.write(message);
          if (!ended.signal.aborted) call.end();
        })();
      },
    };
    server.addService(definition as never, implementation as never);
  }

  /** The wire status of `service`, for Check: NOT_FOUND when unknown. */
  #checked(service: string): Status {
    if (!this.#statuses.has(service)) throw new ConnectError(`unknown service ${service}`, Code.NotFound);
    return this.#wire(service);
  }

  #wire(service: string): Status {
    const status = this.#statuses.get(service);
    return status === undefined
      ? Status.SERVICE_UNKNOWN
      : status === "SERVING"
        ? Status.SERVING
        : Status.NOT_SERVING;
  }

  /** The status of `service` now, then each time it changes, until `caller` aborts or {@link endWatches}. */
  async *#watch(service: string, caller: AbortSignal): AsyncGenerator<{ status: Status }> {
    const ending = this.#ending.signal;
    let last: Status | undefined;
    for (;;) {
      // The status last set is sent even as the stream ends (shutdown() then endWatches()).
      const now = this.#wire(service);
      if (now !== last) {
        last = now;
        yield { status: now };
      }
      if (caller.aborted || ending.aborted) return;
      await new Promise<void>((resolve) => {
        const wake = (changed?: string) => {
          if (changed !== undefined && changed !== service) return;
          this.#changes.off("change", wake);
          caller.removeEventListener("abort", onAbort);
          ending.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => wake();
        if (caller.aborted || ending.aborted) return resolve();
        this.#changes.on("change", wake);
        caller.addEventListener("abort", onAbort, { once: true });
        ending.addEventListener("abort", onAbort, { once: true });
      });
    }
  }

  #put(service: string, status: ServingStatus): void {
    if (this.#statuses.get(service) === status) return;
    this.#statuses.set(service, status);
    this.#changes.emit("change", service);
  }
}

import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type ResponseHeader,
  StatusResponseSchema,
  type WatchRequest,
  WatchRequestSchema,
  type WatchResponse,
  WatchResponseSchema,
} from "../../../gen/etcdserverpb/rpc_pb.js";
import { EmulatedStream, type OpenRequest } from "./emulated-stream.js";
import { decodeJson, encodeJson } from "./json-codec.js";
import type { GatewayRequest } from "./request.js";

/** One watch of the emulated stream: its own `POST /v3/watch`. */
interface GatewayWatch {
  readonly request: GatewayRequest;
  /** Settles once the previous create was answered (or ended): answers go out in the order of the creates. */
  readonly previous: Promise<void>;
  /** Settles {@link previous} for the next create. */
  readonly answered: () => void;
  /** The last header the server sent for it (the cancel answer carries it, as etcd's does). */
  header: ResponseHeader | undefined;
}

/**
 * The `Watch` stream over etcd's gateway. Each create request becomes its own `POST /v3/watch` (one
 * watch per request, answered by a stream of `{"result": WatchResponse}` lines); its answers go out with
 * a watch id unique on this emulated stream (every request's watch is id 0 on the server), in the order
 * they arrive, so the watch hub sees what a gRPC stream gives: one `created` answer per create, in the
 * order of the creates (it sends the next create only after the previous one was answered), then events.
 * A cancel request aborts that watch's request and answers `canceled`, as etcd does. Ending the input
 * leaves the watches running, as etcd does after a half-close; the caller's signal ends them. A request that fails
 * or ends while its watch is open fails the whole stream (UNAVAILABLE when the connection went): the hub
 * then reopens it and re-creates every watch from its resume point. A create the server refuses
 * (`created` and `canceled`, e.g. a stale token) or a watch it cancels (compaction) passes through as is,
 * and only that request ends.
 *
 * Progress requests cannot reach the server's watch streams (the gateway reads one request per HTTP
 * request, the create). A progress request is answered instead with the store's revision from a
 * `Maintenance/Status` call (any user may make it): a notice (watch id -1) that says where the store is
 * and promises nothing about older events still on their way, like the notices of etcd before 3.4.24.
 * The transport says so (`watchProgressComplete: false`), so the client never marks it
 * `progressComplete` and the cache confirms a quiet range by reading etcd. A Status call that fails
 * leaves the request unanswered (the client asks again); docs/web.md says what follows.
 */
export class GatewayWatchStream extends EmulatedStream<
  MessageInitShape<typeof WatchRequestSchema>,
  WatchResponse
> {
  /** Opens a `Maintenance/Status` request with the stream's headers (its token). */
  readonly #openStatus: OpenRequest;
  readonly #watches = new Map<bigint, GatewayWatch>();
  #nextId = 0n;
  /** Settles once the last create so far was answered. */
  #lastCreate: Promise<void> = Promise.resolve();

  constructor(open: OpenRequest, openStatus: OpenRequest, rpc: string) {
    super(open, rpc);
    this.#openStatus = openStatus;
  }

  protected receive(init: MessageInitShape<typeof WatchRequestSchema>): void {
    const request: WatchRequest = create(WatchRequestSchema, init);
    const union = request.requestUnion;
    if (union.case === "createRequest") this.#create(encodeJson(WatchRequestSchema, request));
    else if (union.case === "cancelRequest") this.#cancel(union.value.watchId);
    else if (union.case === "progressRequest") void this.#progress();
  }

  /** Answers a progress request with the store's revision (see the class comment). */
  async #progress(): Promise<void> {
    const request = this.request("{}", this.#openStatus);
    try {
      const response = await request.send();
      const status = decodeJson(
        StatusResponseSchema,
        await request.json(response),
        "etcdserverpb.Maintenance/Status",
      );
      this.push(create(WatchResponseSchema, { header: status.header, watchId: -1n }));
    } catch {
      // Unanswered, as etcd leaves a progress request unanswered at times: the client asks again.
    } finally {
      this.release(request);
    }
  }

  #create(body: string): void {
    const id = this.#nextId++;
    let answered!: () => void;
    const previous = this.#lastCreate;
    this.#lastCreate = new Promise((resolve) => {
      answered = resolve;
    });
    const watch: GatewayWatch = { request: this.request(body), previous, answered, header: undefined };
    this.#watches.set(id, watch);
    void this.#follow(id, watch);
  }

  #cancel(id: bigint): void {
    const watch = this.#watches.get(id);
    if (!watch) return;
    this.#forget(id, watch);
    this.push(create(WatchResponseSchema, { header: watch.header, watchId: id, canceled: true }));
  }

  /** Reads one watch's answers until it is canceled (by either side) or its request fails. */
  async #follow(id: bigint, watch: GatewayWatch): Promise<void> {
    try {
      const response = await watch.request.send();
      let first = true;
      for await (const result of watch.request.results(response)) {
        // etcd answers a stream's creates in order; these requests may answer in any.
        if (first) await watch.previous;
        first = false;
        if (this.#watches.get(id) !== watch) return;
        const message = decodeJson(WatchResponseSchema, result, this.rpc);
        if (message.header) watch.header = message.header;
        // A refused create keeps the server's id (-1): the hub matches a `created` by its position.
        if (!(message.created && message.canceled)) message.watchId = id;
        if (message.canceled) this.#forget(id, watch);
        this.push(message);
        if (message.created) watch.answered();
        if (message.canceled) return;
      }
      if (this.#watches.get(id) === watch)
        this.fail(
          new ConnectError(`${this.rpc}: the gateway ended the request of watch ${id}`, Code.Unavailable),
        );
    } catch (err) {
      if (this.#watches.get(id) === watch) this.fail(err);
    } finally {
      watch.answered();
    }
  }

  /** Like etcd, which keeps a Watch stream open after the client's half-close: the watches go on. */
  protected override inputEnded(): void {}

  #forget(id: bigint, watch: GatewayWatch): void {
    this.#watches.delete(id);
    this.release(watch.request);
  }
}

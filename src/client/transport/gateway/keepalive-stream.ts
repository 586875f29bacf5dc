import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type LeaseKeepAliveRequestSchema,
  type LeaseKeepAliveResponse,
  LeaseKeepAliveResponseSchema,
  LeaseKeepAliveRequestSchema as RequestSchema,
} from "../../../gen/etcdserverpb/rpc_pb.js";
import { EmulatedStream } from "./emulated-stream.js";
import { decodeJson, encodeJson } from "./json-codec.js";

/**
 * The `LeaseKeepAlive` stream over etcd's gateway: each refresh becomes one `POST /v3/lease/keepalive`,
 * whose first result is the answer (the request is then aborted: the gateway would otherwise keep it open
 * for more). Answers go out as they come, so the lease keeper sees what a gRPC stream gives (a TTL of 0
 * for a lease that is gone). A refresh whose request fails fails the whole stream, as a broken connection
 * does: the keeper reopens it and refreshes every lease at once.
 */
export class GatewayKeepAliveStream extends EmulatedStream<
  MessageInitShape<typeof LeaseKeepAliveRequestSchema>,
  LeaseKeepAliveResponse
> {
  /** Refreshes whose answer has not come yet. */
  #inFlight = 0;
  #inputEnded = false;

  protected receive(init: MessageInitShape<typeof LeaseKeepAliveRequestSchema>): void {
    this.#inFlight++;
    void this.#refresh(encodeJson(RequestSchema, init)).finally(() => {
      this.#inFlight--;
      if (this.#inputEnded && this.#inFlight === 0) this.end();
    });
  }

  /** The input ended: the stream ends once every refresh sent was answered. */
  protected override inputEnded(): void {
    this.#inputEnded = true;
    if (this.#inFlight === 0) this.end();
  }

  async #refresh(body: string): Promise<void> {
    const request = this.request(body);
    try {
      const response = await request.send();
      for await (const result of request.results(response)) {
        this.release(request);
        this.push(decodeJson(LeaseKeepAliveResponseSchema, result, this.rpc));
        return;
      }
      if (!request.abortedByTransport)
        this.fail(
          new ConnectError(`${this.rpc}: the gateway ended a refresh without an answer`, Code.Unavailable),
        );
    } catch (err) {
      if (!request.abortedByTransport) this.fail(err);
    } finally {
      this.release(request);
    }
  }
}

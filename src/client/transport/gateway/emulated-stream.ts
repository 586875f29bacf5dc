import { Code, ConnectError } from "@connectrpc/connect";
import { QueuedIterator } from "../../core/queued-iterator.js";
import type { GatewayRequest } from "./request.js";

/** Opens one gateway request of the stream's RPC with the stream's headers; `body` is its JSON. */
export type OpenRequest = (body: string) => GatewayRequest;

/**
 * A gRPC stream emulated over etcd's gateway, which takes one request message per HTTP request (a browser
 * cannot stream a request body over HTTP/1.1): each input message the stream's kind turns into requests
 * of its own ({@link receive}), and their answers go out on one output, in the order they come. Any
 * request's failure fails the whole stream, as a broken connection fails a gRPC stream, so the stream's
 * owner (the watch hub, the lease keeper) reopens it and resumes as it does on gRPC. Ending the input, the
 * caller's signal or the consumer stopping aborts every request still open.
 */
export abstract class EmulatedStream<I, O> {
  protected readonly rpc: string;
  readonly #open: OpenRequest;
  readonly #out = new QueuedIterator<O>({ onStop: () => this.end() });
  readonly #requests = new Set<GatewayRequest>();
  #over = false;
  #signal: AbortSignal | undefined;
  readonly #onAbort = () => {
    // AbortSignal.timeout() (the stream's deadline) aborts with a TimeoutError.
    const deadline = (this.#signal?.reason as { name?: unknown } | undefined)?.name === "TimeoutError";
    this.fail(
      deadline
        ? new ConnectError(`${this.rpc}: deadline exceeded`, Code.DeadlineExceeded)
        : new ConnectError(`${this.rpc}: the stream was aborted`, Code.Canceled),
    );
  };

  constructor(open: OpenRequest, rpc: string) {
    this.#open = open;
    this.rpc = rpc;
  }

  /** Starts reading `input`; returns the answers (ending with the stream's error, if it fails). */
  run(input: AsyncIterable<I>, signal: AbortSignal | undefined): AsyncIterable<O> {
    this.#signal = signal;
    if (signal?.aborted) this.#onAbort();
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
    void this.#pump(input);
    return this.#out;
  }

  /** True once the stream ended or failed. */
  protected get over(): boolean {
    return this.#over;
  }

  /** One input message. */
  protected abstract receive(message: I): void;

  /** The input ended: by default the stream ends (a Watch or LeaseKeepAlive half-closed). */
  protected inputEnded(): void {
    this.end();
  }

  /** Opens a request of this stream, or one made by `open` (aborted when the stream ends). */
  protected request(body: string, open: OpenRequest = this.#open): GatewayRequest {
    const request = open(body);
    this.#requests.add(request);
    return request;
  }

  /** The request is over: abort it if it still runs, and forget it. */
  protected release(request: GatewayRequest): void {
    request.cancel();
    this.#requests.delete(request);
  }

  /** One answer out. */
  protected push(message: O): void {
    if (!this.#over) this.#out.push(message);
  }

  /** The stream fails with `error` (the first end wins); every request is aborted. */
  fail(error: unknown): void {
    this.#finish(error instanceof Error ? error : new Error(String(error)));
  }

  /** The stream ends cleanly; every request is aborted. */
  end(): void {
    this.#finish(undefined);
  }

  #finish(error: Error | undefined): void {
    if (this.#over) return;
    this.#over = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    for (const request of this.#requests) request.cancel();
    this.#requests.clear();
    this.#out.end(error);
  }

  async #pump(input: AsyncIterable<I>): Promise<void> {
    try {
      for await (const message of input) {
        if (this.#over) return;
        this.receive(message);
      }
      if (!this.#over) this.inputEnded();
    } catch (err) {
      this.fail(err);
    }
  }
}

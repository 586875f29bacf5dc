import { Code, ConnectError } from "@connectrpc/connect";
import { fetchFailure, gatewayError, NotSupportedOverGatewayError, readRefusal } from "./errors.js";

/** The `fetch` the transport calls: the global one, or one the user brings (a mock, a proxy agent). */
export type GatewayFetch = (input: string, init: RequestInit) => Promise<Response>;

/** Why a request was aborted: by the caller's signal, its deadline, or by the transport itself. */
type AbortWhy = "caller" | "deadline" | "transport";

/** What one request needs: where, what, and how long. */
export interface GatewayRequestInit {
  readonly fetch: GatewayFetch;
  readonly url: string;
  /** `package.Service/Method`, for messages. */
  readonly rpc: string;
  readonly body: string;
  readonly headers: Headers;
  /** The caller's signal (ends the request: CANCELED). */
  readonly signal?: AbortSignal | undefined;
  /** The call's deadline, ms (DEADLINE_EXCEEDED). */
  readonly timeoutMs?: number | undefined;
}

/**
 * One POST to etcd's gateway, with the abort wiring every call needs: the caller's signal, the deadline,
 * and the transport's own abort (a canceled watch, a closed transport). Failures come out as the
 * `ConnectError` a gRPC transport would give (see `gatewayError` and `fetchFailure`).
 */
export class GatewayRequest {
  readonly #init: GatewayRequestInit;
  readonly #controller = new AbortController();
  #why: AbortWhy | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onCallerAbort = () => this.#abort("caller");

  constructor(init: GatewayRequestInit) {
    this.#init = init;
  }

  /** True once the transport aborted it on purpose (its end is then no failure). */
  get abortedByTransport(): boolean {
    return this.#why === "transport";
  }

  /** Sends it; resolves with the response once its status is 2xx, else rejects with the call's error. */
  async send(): Promise<Response> {
    const { signal, timeoutMs } = this.#init;
    if (signal?.aborted) throw fetchFailure(signal.reason, this.#init.rpc, "caller");
    signal?.addEventListener("abort", this.#onCallerAbort, { once: true });
    if (timeoutMs !== undefined && timeoutMs > 0)
      this.#timer = setTimeout(() => this.#abort("deadline"), timeoutMs);
    let response: Response;
    try {
      response = await this.#init.fetch(this.#init.url, {
        method: "POST",
        headers: this.#init.headers,
        body: this.#init.body,
        signal: this.#controller.signal,
      });
    } catch (err) {
      this.finish();
      throw this.#failure(err);
    }
    if (response.ok) return response;
    let text = "";
    try {
      text = await response.text();
    } catch (err) {
      this.finish();
      throw this.#failure(err);
    }
    this.finish();
    throw gatewayError(response.status, text, this.#init.rpc);
  }

  /** The whole body of a unary answer, parsed. */
  async json(response: Response): Promise<unknown> {
    try {
      const text = await response.text();
      return text === "" ? {} : (JSON.parse(text) as unknown);
    } catch (err) {
      throw err instanceof SyntaxError
        ? new ConnectError(
            `${this.#init.rpc}: the gateway's answer is not JSON`,
            Code.Internal,
            undefined,
            undefined,
            err,
          )
        : this.#failure(err);
    } finally {
      this.finish();
    }
  }

  /**
   * The `result` of each line of a streamed answer (grpc-gateway writes one JSON object per line). An
   * error line becomes the call's error; a body that breaks off is UNAVAILABLE (the connection went). Ends
   * quietly when the transport aborted the request.
   */
  async *results(response: Response): AsyncGenerator<unknown, void, undefined> {
    const body = response.body;
    if (!body) return;
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    try {
      while (true) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (this.#why === "transport") return;
          throw this.#failure(err);
        }
        if (chunk.done) return;
        pending += decoder.decode(chunk.value, { stream: true });
        for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line !== "") yield this.#result(line);
        }
      }
    } finally {
      this.finish();
      reader.releaseLock();
    }
  }

  /** Aborts it on the transport's behalf (a canceled watch, a refresh answered, a closed transport). */
  cancel(): void {
    this.#abort("transport");
  }

  /** Releases the listener and the timer (the request may go on, e.g. a stream read by its owner). */
  finish(): void {
    clearTimeout(this.#timer);
    this.#init.signal?.removeEventListener("abort", this.#onCallerAbort);
  }

  #result(line: string): unknown {
    let parsed: { result?: unknown; error?: unknown };
    try {
      parsed = JSON.parse(line) as { result?: unknown; error?: unknown };
    } catch (err) {
      throw new ConnectError(
        `${this.#init.rpc}: a line of the gateway's stream is not JSON`,
        Code.Internal,
        undefined,
        undefined,
        err,
      );
    }
    if (parsed.error !== undefined && parsed.result === undefined) {
      const refusal = readRefusal(parsed);
      throw new ConnectError(
        refusal.message ?? `${this.#init.rpc}: the gateway's stream failed`,
        refusal.code ?? Code.Unknown,
      );
    }
    return parsed.result ?? {};
  }

  #abort(why: AbortWhy): void {
    this.#why ??= why;
    this.#controller.abort();
  }

  #failure(err: unknown): Error {
    const why = this.#why;
    if (why === "transport")
      return new ConnectError(
        `${this.#init.rpc}: the transport ended the call`,
        Code.Canceled,
        undefined,
        undefined,
        err,
      );
    if (why === "caller" || why === "deadline") return fetchFailure(err, this.#init.rpc, why);
    if (err instanceof ConnectError || err instanceof NotSupportedOverGatewayError) return err;
    // A read that breaks off mid-body (undici's "terminated", a browser's network error): the connection went.
    return fetchFailure(err, this.#init.rpc, undefined);
  }
}

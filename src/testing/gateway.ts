import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Code } from "@connectrpc/connect";
import { EtcdError } from "../client/core/index.js";

/** TLS material for gateway calls to an https client URL. */
export interface GatewayTls {
  /** CA that signed the server certificate. */
  ca: Buffer | string;
  /** Client certificate, needed when the member runs with `--client-cert-auth`. Default none. */
  cert?: Buffer | string | undefined;
  /** Key of `cert`. Default none. */
  key?: Buffer | string | undefined;
}

/** Options of {@link gatewayRequest}. */
export interface GatewayRequestOptions {
  /** TLS material; required for https URLs. Default none. */
  tls?: GatewayTls | undefined;
  /** Gives up after this many ms (a frozen member never answers). Default 5000. */
  timeoutMs?: number | undefined;
  /** Aborts the request. Default none. */
  signal?: AbortSignal | undefined;
  /**
   * An auth token from `/v3/auth/authenticate`, sent as the `Authorization` header (etcd reads it as the
   * `token` of the call; the plain token works on every version, `Bearer <token>` only from 3.5.32,
   * 3.6.13 and 3.7). Default none.
   */
  token?: string | undefined;
}

/** Why a gateway call failed. */
export type GatewayErrorCode = "GATEWAY_TIMEOUT" | "GATEWAY_STATUS" | "GATEWAY_NETWORK" | "GATEWAY_ABORTED";

/** The gRPC code of each kind of gateway failure (a refused call keeps etcd's own code). */
const GATEWAY_CODES: Record<GatewayErrorCode, Code> = {
  GATEWAY_TIMEOUT: Code.DeadlineExceeded,
  GATEWAY_STATUS: Code.Unknown,
  GATEWAY_NETWORK: Code.Unavailable,
  GATEWAY_ABORTED: Code.Canceled,
};

/**
 * Error of a call to etcd's HTTP/JSON gateway: an `EtcdError` whose `code` is etcd's own gRPC code when
 * it sent one (else DEADLINE_EXCEEDED, UNAVAILABLE, CANCELED or UNKNOWN by `kind`); `kind` says which
 * failure it was.
 */
export class EtcdGatewayError extends EtcdError {
  override name = "EtcdGatewayError";
  /** Which kind of failure. */
  readonly kind: GatewayErrorCode;
  /** HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** gRPC status code etcd reported in the body, when it did. */
  readonly grpcCode: number | undefined;
  /** etcd's own message from the body, when it sent one (e.g. `"etcdserver: permission denied"`). */
  readonly reason: string | undefined;

  constructor(
    code: GatewayErrorCode,
    message: string,
    details: { status?: number; grpcCode?: number; reason?: string; cause?: unknown } = {},
  ) {
    super(message, { code: details.grpcCode ?? GATEWAY_CODES[code], cause: details.cause });
    this.kind = code;
    this.status = details.status;
    this.grpcCode = details.grpcCode;
    this.reason = details.reason;
  }
}

/**
 * POSTs a JSON body to etcd's HTTP/JSON gateway (`/v3/...` on a client URL) and returns the parsed
 * response. The kit uses this instead of the etcd-ts client so it stays independent of it; 64-bit
 * integers arrive as JSON strings. Each call opens its own connection (no agent), so a frozen member
 * cannot poison a pool.
 */
export function gatewayRequest<T = unknown>(
  endpoint: string,
  path: string,
  body: object = {},
  options: GatewayRequestOptions = {},
): Promise<T> {
  const { tls, timeoutMs = 5_000, signal, token } = options;
  const url = new URL(path, endpoint);
  const payload = JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new EtcdGatewayError("GATEWAY_ABORTED", `${path} aborted`, { cause: signal.reason }));
      return;
    }
    const requestOptions = {
      method: "POST",
      agent: false as const,
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(payload),
        ...(token === undefined ? {} : { authorization: token }),
      },
    };
    const req =
      url.protocol === "https:"
        ? httpsRequest(url, { ...requestOptions, ca: tls?.ca, cert: tls?.cert, key: tls?.key })
        : httpRequest(url, requestOptions);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const fail = (err: EtcdGatewayError) => {
      finish(() => reject(err));
      req.destroy();
    };
    const timer = setTimeout(
      () =>
        fail(new EtcdGatewayError("GATEWAY_TIMEOUT", `${url.href} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () =>
      fail(new EtcdGatewayError("GATEWAY_ABORTED", `${url.href} aborted`, { cause: signal?.reason }));
    signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (err) =>
      finish(() =>
        reject(new EtcdGatewayError("GATEWAY_NETWORK", `${url.href} failed: ${err.message}`, { cause: err })),
      ),
    );
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (err) =>
        finish(() =>
          reject(
            new EtcdGatewayError("GATEWAY_NETWORK", `${url.href} failed: ${err.message}`, { cause: err }),
          ),
        ),
      );
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          parsed = undefined;
        }
        if (status >= 200 && status < 300 && parsed !== undefined) {
          finish(() => resolve(parsed as T));
          return;
        }
        const refusal = parseGatewayError(parsed);
        const reason = refusal.message ?? text.trim();
        finish(() =>
          reject(
            new EtcdGatewayError("GATEWAY_STATUS", `${url.href} answered ${status}: ${reason}`, {
              status,
              ...(refusal.code === undefined ? {} : { grpcCode: refusal.code }),
              ...(refusal.message === undefined ? {} : { reason: refusal.message }),
            }),
          ),
        );
      });
    });
    req.end(payload);
  });
}

/** What an error body of the gateway says: etcd's gRPC code and message, when it sent them. */
export interface GatewayRefusal {
  /** gRPC status code. */
  code: number | undefined;
  /** etcd's message, e.g. `"etcdserver: user name is empty"`. */
  message: string | undefined;
}

/**
 * Reads an error body of etcd's gateway in either shape: `{ error, code, message }` (grpc-gateway v1,
 * etcd 3.4 and 3.5) or `{ code, message, details }` (grpc-gateway v2, etcd 3.6 and later, no `error`).
 * Anything else (a proxy's HTML page, a 404 text) gives neither field.
 */
export function parseGatewayError(body: unknown): GatewayRefusal {
  if (body === null || typeof body !== "object") return { code: undefined, message: undefined };
  const { code, message, error } = body as { code?: unknown; message?: unknown; error?: unknown };
  const text = typeof message === "string" && message !== "" ? message : error;
  return {
    code: typeof code === "number" && Number.isInteger(code) ? code : undefined,
    message: typeof text === "string" && text !== "" ? text : undefined,
  };
}

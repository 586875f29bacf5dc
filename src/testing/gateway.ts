import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Code } from "@connectrpc/connect";
import { EtcdError } from "../client/errors.js";

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

  constructor(
    code: GatewayErrorCode,
    message: string,
    details: { status?: number; grpcCode?: number; cause?: unknown } = {},
  ) {
    super(message, { code: details.grpcCode ?? GATEWAY_CODES[code], cause: details.cause });
    this.kind = code;
    this.status = details.status;
    this.grpcCode = details.grpcCode;
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
  const { tls, timeoutMs = 5_000, signal } = options;
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
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
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
        const grpc = parsed as { message?: string; error?: string; code?: number } | undefined;
        const reason = grpc?.message ?? grpc?.error ?? text.trim();
        finish(() =>
          reject(
            new EtcdGatewayError("GATEWAY_STATUS", `${url.href} answered ${status}: ${reason}`, {
              status,
              grpcCode: typeof grpc?.code === "number" ? grpc.code : undefined,
            }),
          ),
        );
      });
    });
    req.end(payload);
  });
}

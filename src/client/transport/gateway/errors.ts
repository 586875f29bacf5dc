import { Code, ConnectError } from "@connectrpc/connect";
import { NotSupportedError } from "../../core/errors.js";

/**
 * A call etcd's JSON gateway cannot carry (an RPC it has no path for, such as `KV/RangeStream`): thrown by
 * the gateway transport before anything is sent. A `NotSupportedError` (code UNIMPLEMENTED), so the
 * client treats it as it treats a server without the RPC (a scan pages instead of streaming).
 */
export class NotSupportedOverGatewayError extends NotSupportedError {
  override name = "NotSupportedOverGatewayError";
  /** The RPC, `package.Service/Method`. */
  readonly rpc: string;

  constructor(rpc: string, why: string, endpoint?: string) {
    super(`${rpc} is not supported over etcd's JSON gateway: ${why}`, { code: Code.Unimplemented, endpoint });
    this.rpc = rpc;
  }
}

/** The gRPC code grpc-gateway answers each HTTP status for, read back when a body carries no code. */
const CODE_OF_STATUS: ReadonlyMap<number, Code> = new Map([
  [400, Code.InvalidArgument],
  [401, Code.Unauthenticated],
  [403, Code.PermissionDenied],
  [404, Code.Unimplemented],
  [409, Code.Aborted],
  [412, Code.FailedPrecondition],
  [429, Code.ResourceExhausted],
  [499, Code.Canceled],
  [501, Code.Unimplemented],
  [502, Code.Unavailable],
  [503, Code.Unavailable],
  [504, Code.DeadlineExceeded],
]);

/** What an error body of the gateway says: the gRPC code and message, when it has them. */
interface Refusal {
  readonly code: Code | undefined;
  readonly message: string | undefined;
}

/**
 * Reads a gateway error in each shape etcd sends: a whole body `{error, code, message}` (grpc-gateway v1,
 * etcd 3.4 and 3.5) or `{code, message, details}` (grpc-gateway v2, 3.6 and later), and a stream's error
 * line `{error: {grpc_code, http_code, message}}` (v1) or `{error: {code, message, details}}` (v2).
 */
export function readRefusal(body: unknown): Refusal {
  if (body === null || typeof body !== "object") return { code: undefined, message: undefined };
  const o = body as { code?: unknown; grpc_code?: unknown; message?: unknown; error?: unknown };
  if (o.error !== null && typeof o.error === "object") return readRefusal(o.error);
  const code = typeof o.code === "number" ? o.code : o.grpc_code;
  const text = typeof o.message === "string" && o.message !== "" ? o.message : o.error;
  return {
    code: typeof code === "number" && Code[code] !== undefined ? (code as Code) : undefined,
    message: typeof text === "string" && text !== "" ? text : undefined,
  };
}

/**
 * The `ConnectError` a gRPC transport would give for a gateway answer with HTTP `status` and `text` as
 * body: etcd's own code and message when the body has them (so the client's error typing reads them as
 * it reads a gRPC status), else the code grpc-gateway gives that status. A 404 of the gateway's router
 * (`Not Found`, no etcd message) is a {@link NotSupportedOverGatewayError}: this etcd has no such path.
 */
export function gatewayError(
  status: number,
  text: string,
  rpc: string,
): ConnectError | NotSupportedOverGatewayError {
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const refusal = readRefusal(body);
  const routerNotFound = status === 404 && (refusal.message === undefined || refusal.message === "Not Found");
  if (routerNotFound)
    return new NotSupportedOverGatewayError(
      rpc,
      "this etcd's gateway has no path for it (HTTP 404; 3.4 lacks AuthStatus, Downgrade and HashKV there)",
    );
  const code = refusal.code ?? CODE_OF_STATUS.get(status) ?? Code.Unknown;
  const message =
    refusal.message ??
    `${rpc}: the gateway answered HTTP ${status}${text ? `: ${text.trim().slice(0, 200)}` : ""}`;
  return new ConnectError(message, code);
}

/**
 * A `fetch` that rejected (no response): the connection could not be made or was lost. UNAVAILABLE, with
 * the runtime's error as `cause`, where Node's socket code (`ECONNREFUSED`, ...) tells the failure rule
 * that nothing was sent; an abort by the caller is CANCELED, the call's deadline DEADLINE_EXCEEDED.
 */
export function fetchFailure(
  error: unknown,
  rpc: string,
  why: "caller" | "deadline" | undefined,
): ConnectError {
  if (why === "deadline")
    return new ConnectError(`${rpc}: deadline exceeded`, Code.DeadlineExceeded, undefined, undefined, error);
  if (why === "caller")
    return new ConnectError(`${rpc}: the call was aborted`, Code.Canceled, undefined, undefined, error);
  const detail = error instanceof Error ? error.message : String(error);
  return new ConnectError(
    `${rpc}: the gateway could not be reached: ${detail}`,
    Code.Unavailable,
    undefined,
    undefined,
    error,
  );
}

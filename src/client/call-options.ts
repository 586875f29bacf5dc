import { InvalidArgumentError } from "./core/errors.js";
import { checkNumber, checkOptionsObject, checkSignal } from "./core/validation.js";

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call (and its retries); it then fails with `AbortedError`. Default none. */
  signal?: AbortSignal | undefined;
  /**
   * Deadline of the call in ms, all retries and re-authentication included; on expiry it fails with
   * `DeadlineExceededError`. Default: the client's `timeoutMs` (10000).
   */
  timeoutMs?: number | undefined;
  /**
   * gRPC metadata sent with this call (every attempt of it), e.g. a trace ID for a proxy in front of
   * etcd. Names are case-insensitive header names; values of `-bin` names must be base64
   * (`encodeBinaryMetadata`). The client's own keys are refused with `InvalidArgumentError`: `token`,
   * `hasleader`, `grpc-*`, `content-type`, `te` and pseudo-headers (`:path`). Default none.
   */
  metadata?: Record<string, string> | undefined;
}

/** Options of calls that can be sent to one chosen member (admin calls). */
export interface TargetedCallOptions extends CallOptions {
  /**
   * Send the call to this client URL (e.g. one member's `http://127.0.0.1:2379`) and nowhere else: no
   * failover to other endpoints; retries allowed by the retry table go to the same endpoint. It need
   * not be in the client's endpoint list but must use its scheme. Default: the pinned endpoint, with
   * failover.
   */
  endpoint?: string | undefined;
}

/** Metadata names the call pipeline or the gRPC protocol owns. */
const RESERVED_METADATA = new Set(["token", "hasleader", "content-type", "te"]);
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** Characters a header value cannot carry. */
const BAD_HEADER_VALUE = /[\0\r\n]/;

/**
 * Checks a call's `metadata`: a plain object of header names to string values, none of them a name
 * the client sets itself (a caller's `token` or `hasleader` would silently change auth or leader
 * checks). Throws `InvalidArgumentError` (field `metadata`); never shows a value.
 */
export function checkMetadata(metadata: Readonly<Record<string, string>>): void {
  const proto =
    metadata === null || typeof metadata !== "object" ? undefined : Object.getPrototypeOf(metadata);
  if (proto !== Object.prototype && proto !== null)
    throw new InvalidArgumentError("metadata", "must be a plain object of header names to strings");
  for (const name of Object.keys(metadata)) {
    const lower = name.toLowerCase();
    if (lower.startsWith(":") || lower.startsWith("grpc-") || RESERVED_METADATA.has(lower))
      throw new InvalidArgumentError("metadata", `${JSON.stringify(name)} is set by the client itself`);
    if (!HEADER_NAME.test(name))
      throw new InvalidArgumentError("metadata", `${JSON.stringify(name)} is not a valid header name`);
    const value = metadata[name];
    if (typeof value !== "string" || BAD_HEADER_VALUE.test(value))
      throw new InvalidArgumentError(
        "metadata",
        `the value of ${JSON.stringify(name)} must be a string without line breaks`,
      );
  }
}

/**
 * Checks what every call takes before it starts: `options` an object, `signal` an `AbortSignal`,
 * `timeoutMs` a number >= 1, `metadata` as {@link checkMetadata} wants it. Throws `InvalidArgumentError`
 * naming the option.
 */
export function checkCallOptions(options: CallOptions | undefined): void {
  if (options === undefined) return;
  checkOptionsObject(options);
  checkSignal(options.signal);
  checkNumber(options.timeoutMs, "timeoutMs", 1);
  if (options.metadata !== undefined) checkMetadata(options.metadata);
}

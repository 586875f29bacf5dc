import { ErrorCode } from "./constants.js";

/**
 * Why the h2-net transport ended a connection on its own: the server broke the protocol or exceeded a
 * limit. `code` names what happened; `http2Code` is the RFC 9113 error code sent in our GOAWAY.
 * - `FRAME_TOO_LARGE`: a frame above our SETTINGS_MAX_FRAME_SIZE.
 * - `MALFORMED_FRAME`: a frame of the wrong size or with bad padding, a frame on the wrong stream, an
 *   invalid setting, a PUSH_PROMISE (push is disabled), a frame before the server's SETTINGS.
 * - `HEADER_LIST_TOO_LARGE`: a header block or decoded header list above our limits.
 * - `CONTINUATION_FLOOD`: a header block split into more CONTINUATION frames than we accept.
 * - `HPACK`: a header block that does not decode (including a table size above ours).
 * - `FLOW_CONTROL`: the server sent more than a window allowed, or overflowed a window.
 * - `SETTINGS_FLOOD` / `PING_FLOOD`: too many SETTINGS or PINGs (each asks for an answer) without a
 *   HEADERS or DATA frame between them.
 * - `UNKNOWN_STREAM`: a frame on a stream the client never opened.
 */
export type H2NetErrorCode =
  | "FRAME_TOO_LARGE"
  | "MALFORMED_FRAME"
  | "HEADER_LIST_TOO_LARGE"
  | "CONTINUATION_FLOOD"
  | "HPACK"
  | "FLOW_CONTROL"
  | "SETTINGS_FLOOD"
  | "PING_FLOOD"
  | "UNKNOWN_STREAM";

/** The HTTP/2 error code our GOAWAY carries for each reason. */
const HTTP2_CODES: Record<H2NetErrorCode, number> = {
  FRAME_TOO_LARGE: ErrorCode.FRAME_SIZE_ERROR,
  MALFORMED_FRAME: ErrorCode.PROTOCOL_ERROR,
  HEADER_LIST_TOO_LARGE: ErrorCode.PROTOCOL_ERROR,
  CONTINUATION_FLOOD: ErrorCode.ENHANCE_YOUR_CALM,
  HPACK: ErrorCode.COMPRESSION_ERROR,
  FLOW_CONTROL: ErrorCode.FLOW_CONTROL_ERROR,
  SETTINGS_FLOOD: ErrorCode.ENHANCE_YOUR_CALM,
  PING_FLOOD: ErrorCode.ENHANCE_YOUR_CALM,
  UNKNOWN_STREAM: ErrorCode.PROTOCOL_ERROR,
};

/**
 * A connection the h2-net transport ended because of what the server sent (see {@link H2NetErrorCode}).
 * Never thrown at users by itself: it is the `cause` of the UNAVAILABLE errors of the calls that were on
 * the connection.
 */
export class H2NetProtocolError extends Error {
  override name = "H2NetProtocolError";
  /** Which rule the server broke. */
  readonly code: H2NetErrorCode;
  /** The RFC 9113 error code of the GOAWAY the client sent. */
  readonly http2Code: number;

  constructor(code: H2NetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.http2Code = HTTP2_CODES[code];
  }
}

import { ErrorCode } from "./constants.js";

/**
 * Why the h2-net transport ended a connection (or, for a stream error, one stream) on its own: the server
 * broke the protocol or exceeded a limit. `code` names what happened; `http2Code` is the RFC 9113 error
 * code sent in our GOAWAY (or RST_STREAM).
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
 * - `FRAME_SIZE`: a frame whose length is wrong for its type where RFC 9113 makes that a FRAME_SIZE_ERROR
 *   of the stream (a PRIORITY frame not of 5 bytes): only that stream is reset.
 * - `SETTINGS_TIMEOUT`: the server did not acknowledge our SETTINGS within the connect timeout
 *   (`connectTimeoutMs`, RFC 9113 section 6.5.3).
 * A WINDOW_UPDATE with an increment of 0 is `MALFORMED_FRAME`: on stream 0 it ends the connection, on a
 * stream only that stream (RFC 9113 section 6.9).
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
  | "UNKNOWN_STREAM"
  | "FRAME_SIZE"
  | "SETTINGS_TIMEOUT";

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
  FRAME_SIZE: ErrorCode.FRAME_SIZE_ERROR,
  SETTINGS_TIMEOUT: ErrorCode.SETTINGS_TIMEOUT,
};

/**
 * A connection the h2-net transport ended because of what the server sent (see {@link H2NetErrorCode}).
 * Never thrown at users by itself: it is the `cause` of the UNAVAILABLE errors of the calls that were on
 * the connection. A stream error (`streamId` above 0) ends only that stream: it is in the `cause` chain
 * of that call's error (INTERNAL, the stream reset), and the connection and its other calls go on.
 */
export class H2NetProtocolError extends Error {
  override name = "H2NetProtocolError";
  /** Which rule the server broke. */
  readonly code: H2NetErrorCode;
  /** The RFC 9113 error code of the GOAWAY the client sent. */
  readonly http2Code: number;
  /** The stream a stream error ended; 0 when the whole connection ended. */
  readonly streamId: number;

  constructor(code: H2NetErrorCode, message: string, options?: { cause?: unknown; streamId?: number }) {
    super(message, options);
    this.code = code;
    this.http2Code = HTTP2_CODES[code];
    this.streamId = options?.streamId ?? 0;
  }
}

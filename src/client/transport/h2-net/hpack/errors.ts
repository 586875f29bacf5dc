/**
 * What went wrong, in the HTTP/2 terms the connection acts on:
 * - `COMPRESSION_ERROR`: the peer sent a malformed header block (RFC 7541 section 2.3.3 and 5, RFC 9113
 *   section 4.3); the decoder's table is out of step with the peer's, so the connection must end with
 *   GOAWAY COMPRESSION_ERROR.
 * - `HEADER_LIST_TOO_LARGE`: a well-formed block whose header list exceeds the size we advertised
 *   (SETTINGS_MAX_HEADER_LIST_SIZE, counted as RFC 9113 section 6.5.2 does). The decoder stopped midway,
 *   so its table is out of step too: the connection ends as well.
 * - `INVALID_FIELD`: the encoder was given a name or value it cannot put in a block (a character above
 *   U+00FF); nothing was encoded, nothing was sent.
 */
export type HpackErrorCode = "COMPRESSION_ERROR" | "HEADER_LIST_TOO_LARGE" | "INVALID_FIELD";

/** The precise fault behind an {@link HpackError}, for messages and tests. */
export type HpackErrorReason =
  /** The block ends inside an integer, a string or a field. */
  | "TRUNCATED"
  /** An integer above 2^31 - 1, or with more continuation bytes than such an integer needs. */
  | "INTEGER_OVERFLOW"
  /** A Huffman-coded string contains the EOS symbol. */
  | "HUFFMAN_EOS"
  /** A Huffman-coded string ends in more than 7 bits of padding, or padding that is not all ones. */
  | "HUFFMAN_PADDING"
  /** An indexed field with index 0. */
  | "INDEX_ZERO"
  /** An index beyond the static and dynamic tables. */
  | "INDEX_OUT_OF_RANGE"
  /** A dynamic table size update above the size we advertised. */
  | "TABLE_SIZE_UPDATE_TOO_LARGE"
  /** A dynamic table size update after the first field of a block. */
  | "TABLE_SIZE_UPDATE_NOT_AT_START"
  /** The header list exceeds `maxHeaderListSize`. */
  | "HEADER_LIST_TOO_LARGE"
  /** `decode` called after a failed one: the table may be half-updated, the connection is over. */
  | "DECODER_FAILED"
  /** A name or value given to the encoder holds a character above U+00FF. */
  | "NOT_LATIN1";

/**
 * A header block the HPACK decoder refused, or a field the encoder cannot encode. `code` says what the
 * connection does (see {@link HpackErrorCode}); `reason` names the fault.
 */
export class HpackError extends Error {
  override name = "HpackError";
  /** What the connection does about it. */
  readonly code: HpackErrorCode;
  /** The precise fault. */
  readonly reason: HpackErrorReason;

  constructor(reason: HpackErrorReason, message: string) {
    super(message);
    this.reason = reason;
    this.code =
      reason === "HEADER_LIST_TOO_LARGE"
        ? "HEADER_LIST_TOO_LARGE"
        : reason === "NOT_LATIN1"
          ? "INVALID_FIELD"
          : "COMPRESSION_ERROR";
  }
}

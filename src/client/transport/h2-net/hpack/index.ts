// HPACK (RFC 7541) for the node:net HTTP/2 transport: node-free, no state shared between connections.
// What the transport imports; not part of the package's public API.
export {
  DEFAULT_MAX_HEADER_LIST_SIZE,
  DEFAULT_MAX_TABLE_SIZE,
  type HeaderField,
  HpackDecoder,
  type HpackDecoderOptions,
} from "./decoder.js";
export { encodeHeaderBlock } from "./encoder.js";
export { HpackError, type HpackErrorCode, type HpackErrorReason } from "./errors.js";

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { HeadersInit } from "../headers-init.js";

/** Header names the transport owns; user metadata cannot override them. */
const RESERVED = new Set(["content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding"]);

/**
 * Copies user metadata into the outgoing HTTP/2 headers. Names are lowercased (HTTP/2 requires it); repeated
 * names become lists. Values of `-bin` keys must already be base64 (see {@link encodeBinaryMetadata}),
 * as with every Connect transport.
 * @throws TypeError for a name or value that cannot go into an HTTP/2 header block.
 */
export function appendUserMetadata(target: OutgoingHttpHeaders, init: HeadersInit): void {
  if (init instanceof Headers) {
    init.forEach((value, name) => {
      addValue(target, name, value);
    });
  } else if (Array.isArray(init)) {
    for (const [name, value] of init) addValue(target, name!.toLowerCase(), value!);
  } else {
    for (const name of Object.keys(init))
      addValue(target, name.toLowerCase(), (init as Record<string, string>)[name]!);
  }
}

/** An HTTP header name (RFC 9110 token), lowercase as HTTP/2 requires. */
const VALID_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** Characters that would break the header block; nghttp2 resets such a stream with PROTOCOL_ERROR. */
const INVALID_VALUE = /[\0\r\n]/;

function addValue(target: OutgoingHttpHeaders, name: string, value: string): void {
  if (name.startsWith(":") || RESERVED.has(name)) return;
  if (!VALID_NAME.test(name)) throw new TypeError(`invalid metadata name ${JSON.stringify(name)}`);
  if (INVALID_VALUE.test(value)) throw new TypeError(`invalid value for metadata ${JSON.stringify(name)}`);
  const existing = target[name];
  if (existing === undefined) target[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else target[name] = [String(existing), value];
}

/** Converts received HTTP/2 headers or trailers to a web `Headers`, without pseudo-headers. */
export function headersFromHttp2(
  raw: IncomingHttpHeaders | undefined,
  target: Headers = new Headers(),
): Headers {
  if (raw === undefined) return target;
  for (const name of Object.keys(raw)) {
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    const value = raw[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) target.append(name, v);
    else target.append(name, value);
  }
  return target;
}

/** Encodes bytes for a `-bin` metadata value (base64, padded; gRPC accepts both forms). */
export function encodeBinaryMetadata(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * Decodes a `-bin` metadata value: base64 with or without padding. Several values of one name arrive
 * comma-joined; they are decoded one by one and concatenated, as gRPC does.
 * @throws TypeError when the value is not base64.
 */
export function decodeBinaryMetadata(value: string): Uint8Array {
  const parts = value.split(",").map((part) => {
    const trimmed = part.trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.replace(/=+$/, "").length % 4 === 1) {
      throw new TypeError(`invalid base64 in binary metadata: ${JSON.stringify(trimmed)}`);
    }
    return Buffer.from(trimmed, "base64");
  });
  const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
}

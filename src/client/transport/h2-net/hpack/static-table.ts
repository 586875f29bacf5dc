/**
 * The HPACK static table (RFC 7541 Appendix A): index 1 is the first entry. Copied from the list in
 * golang.org/x/net/http2/hpack (gen.go, v0.62.0; BSD-3-Clause, Copyright 2009 The Go Authors), which
 * matches the RFC's table entry for entry.
 */
export const STATIC_TABLE: readonly (readonly [name: string, value: string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** How many entries the static table has: dynamic table indices start after it. */
export const STATIC_TABLE_LENGTH = 61;

/** The lowest static index of each name, for literals with an indexed name. */
export const STATIC_NAME_INDEX: ReadonlyMap<string, number> = staticNameIndex();

/** The static index of each name and value pair that has one, keyed by `name + "\0" + value`. */
export const STATIC_FIELD_INDEX: ReadonlyMap<string, number> = staticFieldIndex();

/**
 * The key of a name and value pair in {@link STATIC_FIELD_INDEX}. No static name or value holds a NUL, so
 * a key matches a static entry only for that very pair, whatever the caller's strings hold.
 */
export function staticFieldKey(name: string, value: string): string {
  return `${name}\0${value}`;
}

function staticNameIndex(): Map<string, number> {
  const byName = new Map<string, number>();
  STATIC_TABLE.forEach(([name], i) => {
    if (!byName.has(name)) byName.set(name, i + 1);
  });
  return byName;
}

function staticFieldIndex(): Map<string, number> {
  const byField = new Map<string, number>();
  STATIC_TABLE.forEach(([name, value], i) => {
    byField.set(staticFieldKey(name, value), i + 1);
  });
  return byField;
}

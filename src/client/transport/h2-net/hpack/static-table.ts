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

/** A name of the static table: its lowest index, and the index of each value the table pairs it with. */
export interface StaticName {
  /** The lowest index with this name, for a literal with an indexed name. */
  readonly index: number;
  /** The index of each of its values in the table (`""` included: `:authority` is index 1). */
  readonly values: ReadonlyMap<string, number>;
}

/** The static table by name: one lookup tells the encoder whether a field or its name is indexed. */
export const STATIC_NAMES: ReadonlyMap<string, StaticName> = staticNames();

function staticNames(): Map<string, StaticName> {
  const byName = new Map<string, { index: number; values: Map<string, number> }>();
  STATIC_TABLE.forEach(([name, value], i) => {
    let entry = byName.get(name);
    if (entry === undefined) {
      entry = { index: i + 1, values: new Map() };
      byName.set(name, entry);
    }
    entry.values.set(value, i + 1);
  });
  return byName;
}

/** Key `i` of a cache bench run: 20-odd bytes, in key order of `i`. */
export function benchKey(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(7, "0")}`;
}

/** A value of about 100 bytes that differs with `i` (a discovery entry's size). */
export function benchValue(i: number): string {
  return `{"Op":0,"Addr":"10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080","Metadata":{"zone":"z${i % 3}","n":${i}},"pad":"${"x".repeat(24)}"}`;
}

/**
 * Field names and values are octets; the transport hands them over as strings of one character per byte
 * (U+0000 to U+00FF), as `node:http2` does, so any byte survives a decode and an encode unchanged.
 * `TextDecoder("latin1")` is no substitute: the Encoding Standard maps it to windows-1252, which changes
 * bytes 0x80 to 0x9F.
 */

/** Below this many bytes a plain loop beats `String.fromCharCode.apply` and its argument array. */
const SHORT = 16;
/** Arguments per `String.fromCharCode.apply` call: well below every engine's argument limit. */
const CHUNK = 4096;

/** The string of `bytes[start, end)`, one character per byte. */
export function latin1String(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < SHORT) {
    let text = "";
    for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
    return text;
  }
  let text = "";
  for (let i = start; i < end; i += CHUNK) {
    const part = bytes.subarray(i, Math.min(i + CHUNK, end));
    text += String.fromCharCode.apply(null, part as unknown as number[]);
  }
  return text;
}

/** The index of the first character of `text` above U+00FF, or -1 when every one fits in a byte. */
export function firstNonLatin1(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return i;
  return -1;
}

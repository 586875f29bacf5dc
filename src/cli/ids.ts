import { UsageError } from "./usage-error.js";

/**
 * Parses a lease or member ID as etcdctl prints and takes it: hexadecimal, with or without `0x`
 * (`694d7b5f2a3b8c0a`). `what` names the argument in the error.
 */
export function parseHexId(text: string, what: string): bigint {
  const digits = text.startsWith("0x") || text.startsWith("0X") ? text.slice(2) : text;
  if (!/^[0-9a-fA-F]{1,16}$/.test(digits))
    throw new UsageError(`${what}: ${JSON.stringify(text)} is not a hexadecimal ID (e.g. 694d7b5f2a3b8c0a)`);
  const id = BigInt(`0x${digits}`);
  if (id === 0n) throw new UsageError(`${what}: the ID must not be 0`);
  return id;
}

/** A member ID as etcdctl prints it: lowercase hexadecimal without `0x`. */
export function hexId(id: bigint): string {
  return id.toString(16);
}

/** A lease ID as etcdctl prints it (`%016x`): lowercase hexadecimal, zero-padded to 16 digits. */
export function leaseHex(id: bigint): string {
  return id.toString(16).padStart(16, "0");
}

/** Parses a whole number argument (`--limit`, `--rev`, a TTL) that must be at least `min`. */
export function parseInteger(text: string, what: string, min = 0): bigint {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what}: ${JSON.stringify(text)} is not a whole number`);
  const value = BigInt(text);
  if (value < BigInt(min)) throw new UsageError(`${what}: must be at least ${min}, got ${text}`);
  return value;
}

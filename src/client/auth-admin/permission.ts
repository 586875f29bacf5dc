import { Permission_Type, type Permission as WirePermission } from "../../gen/authpb/auth_pb.js";
import { InvalidArgumentError } from "../core/errors.js";
import { FROM_KEY_END, prefixRangeEnd } from "../kv/range-end.js";
import { rangeBounds } from "../kv/requests.js";
import type { KeyRange } from "../kv/types.js";

/** What a permission allows. */
export type PermissionType = "read" | "write" | "readwrite";

/**
 * A permission to grant: a key, `{ prefix }`, a range `{ key, end }` (`[key, end)`) or `{ fromKey }`,
 * and its type.
 */
export type PermissionInit = KeyRange & { type: PermissionType };

/** A permission as `roles.get()` reports it. */
export interface Permission {
  /** What it allows. */
  type: PermissionType;
  /** The keys it covers, decoded: `{ key }`, `{ prefix }`, `{ fromKey }` or `{ key, end }` (bytes). */
  range: KeyRange;
  /** The raw `key` of the wire form. */
  key: Uint8Array;
  /** The raw `range_end` of the wire form (empty for one key). */
  rangeEnd: Uint8Array;
}

const TO_WIRE: Readonly<Record<PermissionType, Permission_Type>> = {
  read: Permission_Type.READ,
  write: Permission_Type.WRITE,
  readwrite: Permission_Type.READWRITE,
};

const FROM_WIRE: Readonly<Record<number, PermissionType>> = {
  [Permission_Type.READ]: "read",
  [Permission_Type.WRITE]: "write",
  [Permission_Type.READWRITE]: "readwrite",
};

/** The wire permission for `init`, validated (the field named in errors is `permission`). */
export function permissionToWire(init: PermissionInit): {
  permType: Permission_Type;
  key: Uint8Array;
  rangeEnd: Uint8Array;
} {
  if (init === null || typeof init !== "object")
    throw new InvalidArgumentError("permission", "must be an object");
  const permType = TO_WIRE[init.type];
  if (permType === undefined)
    throw new InvalidArgumentError(
      "permission.type",
      `must be read, write or readwrite, got ${JSON.stringify(init.type)}`,
    );
  return { permType, ...rangeBounds(init) };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Decodes a wire permission into the range form it was most likely granted with. */
export function permissionFromWire(p: WirePermission): Permission {
  const { key, rangeEnd } = p;
  let range: KeyRange;
  if (rangeEnd.length === 0) range = { key };
  else if (equal(key, FROM_KEY_END) && equal(rangeEnd, FROM_KEY_END)) range = { prefix: new Uint8Array(0) };
  else if (equal(rangeEnd, FROM_KEY_END)) range = { fromKey: key };
  else if (equal(rangeEnd, prefixRangeEnd(key))) range = { prefix: key };
  else range = { key, end: rangeEnd };
  return { type: FROM_WIRE[p.permType] ?? "read", range, key, rangeEnd };
}

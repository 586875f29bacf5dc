import { InvalidArgumentError } from "../core/errors.js";
import { checkInteger, checkKey, checkOptionsObject } from "../core/validation.js";
import { type Bytes, toBytes } from "../kv/bytes.js";
import { Lease } from "../lease/lease.js";
import type { Keyspace } from "../namespace/namespace.js";
import type { LeaderKey } from "./types.js";

/** A lease as the lock and election calls take it: a {@link Lease} of this client, or a lease ID. */
export type LeaseRef = Lease | bigint | number;

/**
 * The lease ID of a required `lease` option: a `Lease`, or an integer ID >= 1. Zero is refused: the
 * member would grant a 60 s lease of its own that nobody keeps alive.
 */
export function leaseIdOf(lease: LeaseRef | undefined, field = "lease"): bigint {
  if (lease instanceof Lease) return lease.id;
  if (lease === undefined)
    throw new InvalidArgumentError(field, "is required: a Lease (etcd.lease.grant(ttl)) or a lease ID");
  return checkInteger(lease, field, 1);
}

/** A non-empty lock or election name (string or bytes), in the wire keyspace. */
export function wireName(keys: Keyspace, name: Bytes, field = "name"): Uint8Array {
  return toWire(keys, checkKey(toBytes(name, field), field));
}

/** `key` with the client's namespace prefix (unchanged outside a namespace view). */
export function toWire(keys: Keyspace, key: Uint8Array): Uint8Array {
  return keys.prefixPut({ key }).key;
}

/** A key the server answered with, as the client's namespace names it (unchanged outside a view). */
export function fromWire(keys: Keyspace, key: Uint8Array): Uint8Array {
  const ns = keys.namespace;
  return ns?.contains(key) ? key.subarray(ns.prefix.length) : key;
}

/** Checks a {@link LeaderKey} from a caller (`campaign()`'s answer, or one rebuilt from its fields). */
export function wireLeaderKey(
  keys: Keyspace,
  leader: LeaderKey,
): { name: Uint8Array; key: Uint8Array; rev: bigint; lease: bigint } {
  checkOptionsObject(leader, "leader", false);
  return {
    name: wireName(keys, leader.name, "leader.name"),
    key: wireName(keys, leader.key, "leader.key"),
    rev: checkInteger(leader.revision, "leader.revision", 1),
    lease: checkInteger(leader.lease, "leader.lease", 1),
  };
}

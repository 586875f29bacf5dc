import type { DecodeResult, InstanceCodec } from "./codec.js";
import { GRPC_PROTOCOL, isProtocolName } from "./endpoints.js";
import type { ServiceInstance } from "./instance.js";

/**
 * Field that carries etcd-ts' own attributes beside Go's `Op`, `Addr` and `Metadata`. Go's
 * `encoding/json` skips unknown fields and matches names case-insensitively, so it must not be spelled like
 * any of those three.
 */
export const EXTENSION_FIELD = "etcdts";

/** Go's `naming/endpoints` operations (`internal.Update.Op`). */
const OP_ADD = 0;
const OP_DELETE = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Options of {@link goEndpointsCodec}. */
export interface GoEndpointsCodecOptions {
  /** Prepended to every key, e.g. `"services/"`. Default `""` (Go's resolver target is then the service name). */
  keyPrefix?: string | undefined;
}

/**
 * The value's `Metadata` as Go must see it: Go's resolver hands it to grpc-go as address metadata, which
 * grpc-go hashes, and a JSON object decodes to a Go map that panics there (etcd issue 19700). So null,
 * strings, numbers and booleans pass as they are; anything else is written as its JSON text, a string.
 */
export function goSafeMetadata(metadata: unknown): null | string | number | boolean {
  if (metadata === null || metadata === undefined) return null;
  if (typeof metadata === "string" || typeof metadata === "boolean") return metadata;
  if (typeof metadata === "number") return Number.isFinite(metadata) ? metadata : String(metadata);
  return JSON.stringify(metadata) ?? null;
}

/**
 * The key/value layout of etcd's Go `naming/endpoints` manager: key `<prefix><service>/<addr>`, value
 * `{"Op":0,"Addr":"host:port","Metadata":...}`. A Go `etcd:///<service>` resolver sees instances that
 * etcd-ts registers, and etcd-ts sees Go's. What etcd-ts adds (weight, version, zone, region, draining and the
 * user's metadata as given, the instance's other endpoints) travels in the extra top-level field
 * {@link EXTENSION_FIELD}, which Go ignores. `Addr` is the gRPC endpoint; the others go to
 * `etcdts.endpoints` (protocol → address), not into `Metadata`: Go hands `Metadata` to grpc-go, which must
 * be able to hash it, and it carries the user's metadata.
 */
export function goEndpointsCodec(options: GoEndpointsCodecOptions = {}): InstanceCodec {
  const keyPrefix = options.keyPrefix ?? "";
  return {
    servicePrefix: (service) => `${keyPrefix}${service}/`,
    key: (instance) => `${keyPrefix}${instance.service}/${instance.addr}`,
    encode(instance) {
      const extension: Record<string, unknown> = { weight: instance.weight, draining: instance.draining };
      if (instance.version !== undefined) extension.version = instance.version;
      if (instance.zone !== undefined) extension.zone = instance.zone;
      if (instance.region !== undefined) extension.region = instance.region;
      extension.metadata = instance.metadata ?? null;
      if (instance.endpoints !== undefined) extension.endpoints = instance.endpoints;
      const value = {
        Op: OP_ADD,
        Addr: instance.addr,
        Metadata: goSafeMetadata(instance.metadata),
        [EXTENSION_FIELD]: extension,
      };
      return encoder.encode(JSON.stringify(value));
    },
    decode(service, key, value) {
      return decodeGoEndpoint(service, key, value);
    },
  };
}

function decodeGoEndpoint(service: string, key: string, value: Uint8Array): DecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(value));
  } catch {
    return { kind: "malformed", reason: `value of ${key} is not UTF-8 JSON` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { kind: "malformed", reason: `value of ${key} is not a JSON object` };
  }
  // Go matches field names case-insensitively; so do we.
  const fields = new Map<string, unknown>();
  for (const [name, v] of Object.entries(parsed)) fields.set(name.toLowerCase(), v);
  const op = fields.get("op") ?? OP_ADD;
  if (op === OP_DELETE) return { kind: "deleted" };
  if (op !== OP_ADD)
    return { kind: "malformed", reason: `value of ${key} has unknown Op ${JSON.stringify(op)}` };
  const addr = fields.get("addr");
  if (typeof addr !== "string" || addr === "") {
    return { kind: "malformed", reason: `value of ${key} has no Addr string` };
  }
  const ext = fields.get(EXTENSION_FIELD);
  const extension =
    typeof ext === "object" && ext !== null && !Array.isArray(ext) ? (ext as Record<string, unknown>) : {};
  const weight = extension.weight;
  const instance: ServiceInstance = {
    service,
    addr,
    metadata: "metadata" in extension ? extension.metadata : (fields.get("metadata") ?? null),
    weight: typeof weight === "number" && Number.isFinite(weight) && weight >= 0 ? weight : 1,
    ...(typeof extension.version === "string" ? { version: extension.version } : {}),
    ...(typeof extension.zone === "string" ? { zone: extension.zone } : {}),
    ...(typeof extension.region === "string" ? { region: extension.region } : {}),
    draining: extension.draining === true,
    ...decodeEndpoints(extension.endpoints),
  };
  return { kind: "instance", instance };
}

/**
 * The `endpoints` of an instance as another writer may have left them: entries whose name is a protocol
 * name (not `grpc`: that is `Addr`) and whose address a non-empty string are kept, others dropped.
 */
function decodeEndpoints(value: unknown): { endpoints?: Readonly<Record<string, string>> } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  const endpoints: Record<string, string> = {};
  for (const [protocol, address] of Object.entries(value)) {
    if (protocol === GRPC_PROTOCOL || !isProtocolName(protocol)) continue;
    if (typeof address === "string" && address !== "") endpoints[protocol] = address;
  }
  return Object.keys(endpoints).length > 0 ? { endpoints: Object.freeze(endpoints) } : {};
}

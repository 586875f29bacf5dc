import type { Interceptor } from "@connectrpc/connect";
import type { KeyValue, MemberInfo, WatchBatch } from "../client/index.js";

// `-w json` / `--write-out=json`: what etcdctl 3.4 prints, byte for byte where the data is the same.
// etcdctl marshals the gRPC responses with Go's encoding/json: field names from the proto's json tags
// (snake_case), zero values left out (omitempty), 64-bit integers as JSON numbers (even above 2^53),
// bytes in base64, and a few of its own wrappers (lease grant, watch) with their own names.

/** The `header` of every etcd response. */
export interface ResponseHeader {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly revision: bigint;
  readonly raftTerm: bigint;
}

/**
 * Keeps the `header` of the responses a client receives (unary and stream messages), by endpoint: the
 * library's results carry the revision only, etcdctl's JSON the whole header. Install
 * {@link ResponseHeaders.interceptor} in the client's `interceptors`.
 */
export class ResponseHeaders {
  #latest: ResponseHeader | undefined;
  readonly #byEndpoint = new Map<string, ResponseHeader>();

  /** Records the header of every response message that has one. */
  readonly interceptor: Interceptor = (next) => async (req) => {
    const origin = new URL(req.url).origin;
    const res = await next(req);
    if (!res.stream) {
      this.#record(origin, res.message);
      return res;
    }
    const record = (message: unknown) => this.#record(origin, message);
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        for await (const message of messages) {
          record(message);
          yield message;
        }
      })(),
    };
  };

  /** The header of the last response received (from any endpoint). */
  get latest(): ResponseHeader | undefined {
    return this.#latest;
  }

  /** The header of the last response from `endpoint` (a client URL). */
  of(endpoint: string): ResponseHeader | undefined {
    return this.#byEndpoint.get(new URL(endpoint).origin);
  }

  #record(origin: string, message: unknown): void {
    const header = (message as { header?: ResponseHeader } | undefined)?.header;
    if (header === undefined) return;
    this.#latest = header;
    this.#byEndpoint.set(origin, header);
  }
}

/**
 * Go's `json.Marshal` of a value: bigints as JSON numbers (digits, however large), `undefined` fields
 * left out, and `<`, `>`, `&`, U+2028, U+2029 escaped in strings as Go escapes them.
 */
export function goJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string")
    return JSON.stringify(value).replace(
      /[<>&\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  if (Array.isArray(value)) return `[${value.map(goJson).join(",")}]`;
  const fields = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${fields.map(([k, v]) => `${goJson(k)}:${goJson(v)}`).join(",")}}`;
}

/** Go's `omitempty`: undefined for zero values (0, 0n, "", false, empty bytes or lists), else the value. */
function nonZero<T>(value: T): T | undefined {
  if (value === 0 || value === 0n || value === "" || value === false) return undefined;
  if ((value instanceof Uint8Array || Array.isArray(value)) && value.length === 0) return undefined;
  return value;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** `pb.ResponseHeader` (every field omitempty); an empty object when no header was seen. */
export function headerJson(header: ResponseHeader | undefined): Record<string, unknown> {
  return {
    cluster_id: nonZero(header?.clusterId ?? 0n),
    member_id: nonZero(header?.memberId ?? 0n),
    revision: nonZero(header?.revision ?? 0n),
    raft_term: nonZero(header?.raftTerm ?? 0n),
  };
}

/** `mvccpb.KeyValue`: key and value in base64, zero fields left out. */
export function keyValueJson(kv: KeyValue): Record<string, unknown> {
  return {
    key: nonZero(kv.key) && base64(kv.key),
    create_revision: nonZero(kv.createRevision),
    mod_revision: nonZero(kv.modRevision),
    version: nonZero(kv.version),
    value: nonZero(kv.value) && base64(kv.value),
    lease: nonZero(kv.lease),
  };
}

/** `get`: `pb.RangeResponse`. */
export function rangeJson(
  header: ResponseHeader | undefined,
  result: { kvs: readonly KeyValue[]; more: boolean; count: bigint },
): Record<string, unknown> {
  return {
    header: headerJson(header),
    kvs: nonZero(result.kvs.map(keyValueJson)),
    more: nonZero(result.more),
    count: nonZero(result.count),
  };
}

/** `put`: `pb.PutResponse`. */
export function putJson(
  header: ResponseHeader | undefined,
  prevKv: KeyValue | undefined,
): Record<string, unknown> {
  return { header: headerJson(header), prev_kv: prevKv && keyValueJson(prevKv) };
}

/** `del`: `pb.DeleteRangeResponse`. */
export function deleteJson(
  header: ResponseHeader | undefined,
  result: { deleted: bigint; prevKvs: readonly KeyValue[] },
): Record<string, unknown> {
  return {
    header: headerJson(header),
    deleted: nonZero(result.deleted),
    prev_kvs: nonZero(result.prevKvs.map(keyValueJson)),
  };
}

/**
 * `watch`: clientv3's `WatchResponse` (Go field names, no tags): `Header` with the batch's revision,
 * `Events` as `mvccpb.Event` (`type` left out for a PUT, 1 for a DELETE), then `CompactRevision`,
 * `Canceled` and `Created`, always present.
 */
export function watchJson(header: ResponseHeader | undefined, batch: WatchBatch): Record<string, unknown> {
  return {
    Header: headerJson(header && { ...header, revision: batch.revision }),
    Events: batch.events.map((e) => ({
      type: e.type === "delete" ? 1 : undefined,
      kv: keyValueJson(e.kv),
      prev_kv: e.prevKv && keyValueJson(e.prevKv),
    })),
    CompactRevision: 0,
    Canceled: false,
    Created: false,
  };
}

/** `lease grant`: clientv3's `LeaseGrantResponse`, the header's fields inline, then `ID`, `TTL`, `Error`. */
export function leaseGrantJson(
  header: ResponseHeader | undefined,
  id: bigint,
  ttl: number,
): Record<string, unknown> {
  return { ...headerJson(header), ID: id, TTL: ttl, Error: "" };
}

/** `lease keep-alive`: clientv3's `LeaseKeepAliveResponse`, the header inline, then `ID`, `TTL`. */
export function leaseKeepAliveJson(
  header: ResponseHeader | undefined,
  id: bigint,
  ttl: number,
): Record<string, unknown> {
  return { ...headerJson(header), ID: id, TTL: ttl };
}

/** `lease revoke`: `pb.LeaseRevokeResponse`. */
export function leaseRevokeJson(header: ResponseHeader | undefined): Record<string, unknown> {
  return { header: headerJson(header) };
}

/** `lease timetolive`: the header inline, then `id`, `ttl`, `granted-ttl`, `keys` (base64, or null). */
export function leaseTimeToLiveJson(
  header: ResponseHeader | undefined,
  id: bigint,
  r: { ttl: number; grantedTtl: number; keys: readonly Uint8Array[] },
): Record<string, unknown> {
  return {
    ...headerJson(header),
    id,
    ttl: r.ttl,
    "granted-ttl": r.grantedTtl,
    keys: r.keys.length > 0 ? r.keys.map(base64) : null,
  };
}

/** `lease list`: the header inline, then `leases: [{ id }]` (an empty list when there is none). */
export function leasesJson(
  header: ResponseHeader | undefined,
  ids: readonly bigint[],
): Record<string, unknown> {
  return { ...headerJson(header), leases: ids.map((id) => ({ id })) };
}

/** One `pb.Member`, its empty fields left out as Go's JSON does. */
function memberGoJson(m: MemberInfo): Record<string, unknown> {
  return {
    ID: nonZero(m.id),
    name: nonZero(m.name),
    peerURLs: nonZero([...m.peerUrls]),
    clientURLs: nonZero([...m.clientUrls]),
    isLearner: nonZero(m.isLearner),
  };
}

/**
 * `member list`, `member remove` and `member promote`: `pb.MemberListResponse`,
 * `pb.MemberRemoveResponse` and `pb.MemberPromoteResponse` have the same fields (header, members).
 */
export function memberListJson(
  header: ResponseHeader | undefined,
  members: readonly MemberInfo[],
): Record<string, unknown> {
  return { header: headerJson(header), members: nonZero(members.map(memberGoJson)) };
}

/** `member add`: `pb.MemberAddResponse` (the new member, then every member). */
export function memberAddJson(
  header: ResponseHeader | undefined,
  member: MemberInfo,
  members: readonly MemberInfo[],
): Record<string, unknown> {
  return {
    header: headerJson(header),
    member: memberGoJson(member),
    members: nonZero(members.map(memberGoJson)),
  };
}

/** What `endpoint status` knows of one member (the library's `EndpointStatus`). */
interface StatusFields {
  readonly version: string;
  readonly dbSize: bigint;
  readonly leader: bigint;
  readonly raftIndex: bigint;
  readonly raftTerm: bigint;
  readonly raftAppliedIndex: bigint;
  readonly errors: readonly string[];
  readonly dbSizeInUse: bigint;
  readonly isLearner: boolean;
}

/** One entry of `endpoint status`: `{ Endpoint, Status }`, `Status` a `pb.StatusResponse` (etcd 3.4's fields). */
export function endpointStatusJson(
  endpoint: string,
  header: ResponseHeader | undefined,
  s: StatusFields,
): Record<string, unknown> {
  return {
    Endpoint: endpoint,
    Status: {
      header: headerJson(header),
      version: nonZero(s.version),
      dbSize: nonZero(s.dbSize),
      leader: nonZero(s.leader),
      raftIndex: nonZero(s.raftIndex),
      raftTerm: nonZero(s.raftTerm),
      raftAppliedIndex: nonZero(s.raftAppliedIndex),
      errors: nonZero([...s.errors]),
      dbSizeInUse: nonZero(s.dbSizeInUse),
      isLearner: nonZero(s.isLearner),
    },
  };
}

/** One entry of `endpoint health`: `{ endpoint, health, took, error? }`, `took` a Go duration. */
export function endpointHealthJson(r: {
  endpoint: string;
  health: boolean;
  tookMs: number;
  error?: string | undefined;
}): Record<string, unknown> {
  return { endpoint: r.endpoint, health: r.health, took: `${r.tookMs}ms`, error: nonZero(r.error ?? "") };
}

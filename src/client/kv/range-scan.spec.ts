import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, test } from "vitest";
import { RangeResponseSchema } from "../../gen/etcdserverpb/rpc_pb.js";
import { KeyValueSchema } from "../../gen/mvccpb/kv_pb.js";
import { EtcdError, UnavailableError } from "../core/errors.js";
import { type RangeSource, scanRange } from "./range-scan.js";
import type { RangeRequestInit } from "./requests.js";

const te = new TextEncoder();
const td = new TextDecoder();
const KEYS = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, "0")}`);
const STORE_REVISION = 77n;

function compare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The keys of the fake store in [request.key, range_end), at most `limit`. */
function select(request: RangeRequestInit): { kvs: ReturnType<typeof kv>[]; more: boolean } {
  const from = request.key ?? new Uint8Array();
  const all = KEYS.map((k) => kv(k)).filter((x) => compare(x.key, from) >= 0);
  const limit = Number(request.limit ?? 0n);
  return limit > 0 ? { kvs: all.slice(0, limit), more: all.length > limit } : { kvs: all, more: false };
}

function kv(key: string) {
  return create(KeyValueSchema, { key: te.encode(key), value: te.encode(`v-${key}`), modRevision: 5n });
}

/** A source over KEYS: pages, and (unless `noStream`) streams in chunks of 4, broken as `breakAfter` says. */
function fakeSource(options: { noStream?: boolean; breakAfterChunks?: number[] } = {}) {
  const pages: RangeRequestInit[] = [];
  const streams: RangeRequestInit[] = [];
  const breaks = [...(options.breakAfterChunks ?? [])];
  const source: RangeSource = {
    page: async (request) => {
      pages.push(request);
      const { kvs, more } = select(request);
      return create(RangeResponseSchema, { header: { revision: STORE_REVISION }, kvs, more, count: 0n });
    },
    stream: async (request) => {
      if (options.noStream) return undefined;
      streams.push(request);
      const { kvs } = select(request);
      const breakAt = breaks.shift();
      return (async function* () {
        for (let i = 0, n = 0; i < kvs.length; i += 4, n++) {
          if (n === breakAt) throw new UnavailableError("connection lost", { code: Code.Unavailable });
          yield create(RangeResponseSchema, { kvs: kvs.slice(i, i + 4) });
        }
      })();
    },
  };
  return { source, pages, streams };
}

async function run(
  source: RangeSource,
  sizes: { pageSize: bigint; limit: bigint },
  base: RangeRequestInit = {},
) {
  const scan = scanRange(source, { key: te.encode("k"), rangeEnd: te.encode("l"), ...base }, sizes);
  const keys: string[] = [];
  for (let r = await scan.next(); ; r = await scan.next()) {
    if (r.done) return { keys, revision: r.value };
    keys.push(...r.value.map((x) => td.decode(x.key)));
  }
}

describe("scanRange", () => {
  test("one page, then the rest as a stream at the first page's revision", async () => {
    const { source, pages, streams } = fakeSource();
    const { keys, revision } = await run(source, { pageSize: 5n, limit: 0n });
    expect(keys).toEqual(KEYS);
    expect(revision).toBe(STORE_REVISION);
    expect(pages).toHaveLength(1);
    expect(streams).toHaveLength(1);
    expect(td.decode(streams[0]!.key)).toBe("k04\0");
    expect(streams[0]!.revision).toBe(STORE_REVISION);
  });

  test("without a stream: page by page, each after the last key, at the first page's revision", async () => {
    const { source, pages } = fakeSource({ noStream: true });
    const { keys } = await run(source, { pageSize: 5n, limit: 0n });
    expect(keys).toEqual(KEYS);
    expect(pages.map((p) => [td.decode(p.key), p.revision, p.limit])).toEqual([
      ["k", undefined, 5n],
      ["k04\0", STORE_REVISION, 5n],
      ["k09\0", STORE_REVISION, 5n],
      ["k14\0", STORE_REVISION, 5n],
      ["k19\0", STORE_REVISION, 5n],
    ]);
  });

  test("a stream broken twice resumes after its last key each time, same keys, nothing repeated", async () => {
    const { source, streams } = fakeSource({ breakAfterChunks: [2, 1] });
    const { keys } = await run(source, { pageSize: 5n, limit: 0n });
    expect(keys).toEqual(KEYS);
    expect(streams.map((s) => td.decode(s.key))).toEqual(["k04\0", "k12\0", "k16\0"]);
  });

  test("a limit: the stream gets what is left, a resume what is left then", async () => {
    const { source, streams } = fakeSource({ breakAfterChunks: [1] });
    const { keys } = await run(source, { pageSize: 5n, limit: 15n });
    expect(keys).toEqual(KEYS.slice(0, 15));
    expect(streams.map((s) => s.limit)).toEqual([10n, 6n]);
  });

  test("a limit reached inside the first page needs no stream", async () => {
    const { source, streams } = fakeSource();
    expect((await run(source, { pageSize: 5n, limit: 3n })).keys).toEqual(KEYS.slice(0, 3));
    expect(streams).toHaveLength(0);
  });

  test("a revision given is kept; other errors end the scan", async () => {
    const { source, pages, streams } = fakeSource();
    expect((await run(source, { pageSize: 5n, limit: 0n }, { revision: 9n })).revision).toBe(9n);
    expect(pages[0]!.revision).toBe(9n);
    expect(streams[0]!.revision).toBe(9n);
    const failing: RangeSource = {
      ...source,
      stream: async () =>
        (async function* () {
          yield* [];
          throw new EtcdError("mvcc: required revision has been compacted", { code: Code.OutOfRange });
        })(),
    };
    await expect(run(failing, { pageSize: 5n, limit: 0n })).rejects.toThrow(/compacted/);
  });

  test("revision filters are never streamed (RangeStream refuses them): pages", async () => {
    const { source, streams, pages } = fakeSource();
    await run(source, { pageSize: 5n, limit: 0n }, { minModRevision: 2n });
    expect(streams).toHaveLength(0);
    expect(pages).toHaveLength(5);
  });
});

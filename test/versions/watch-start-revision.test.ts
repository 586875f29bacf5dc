import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDefaultTransport } from "../../src/client/call/default-transport.js";
import { Etcd, InvalidArgumentError } from "../../src/client/index.js";
import { KV, Maintenance, Watch, type WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { Pushable } from "../support/pushable.js";
import { versionAtLeast } from "../support/server-version.js";

/**
 * A Watch create with start revision -1: etcd 3.4.23 accepts it (a watch that never delivers, and
 * that stalls every catching-up watch on the member); 3.5+ refuse it, answering created and canceled at once with "required revision has been compacted"
 * (watch_id -1), which a client would take for a compaction. The client never sends it: `startRevision`
 * must be >= 1.
 */
const te = new TextEncoder();
let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await startEtcd();
});

afterAll(async () => {
  await cluster?.close();
});

describe("watch start revision -1", () => {
  it("is accepted by 3.4 and refused as compacted by 3.5+ (raw Watch stream)", async () => {
    const transport = createDefaultTransport(
      { url: cluster.endpoint, secure: false, tls: undefined },
      { keepaliveIntervalMs: 10_000, keepaliveTimeoutMs: 5_000, connectTimeoutMs: 5_000 },
    );
    const input = new Pushable<MessageInitShape<typeof WatchRequestSchema>>();
    const abort = new AbortController();
    try {
      const put = await createClient(KV, transport).put({ key: te.encode("w/a"), value: te.encode("1") });
      const { version } = await createClient(Maintenance, transport).status({});
      const responses = createClient(Watch, transport)
        .watch(input, { signal: abort.signal })
        [Symbol.asyncIterator]();
      input.push({
        requestUnion: { case: "createRequest", value: { key: te.encode("w/a"), startRevision: -1n } },
      });
      const created = (await responses.next()).value!;
      expect(created.created).toBe(true);
      if (versionAtLeast(version, "3.5")) {
        expect([created.canceled, created.watchId, created.cancelReason]).toEqual([
          true,
          -1n,
          "etcdserver: mvcc: required revision has been compacted",
        ]);
      } else {
        // Accepted as a watch. It never delivers, and (measured on 3.4.23) it stalls the catch-up of every
        // other watch on the member, on any stream: docs/compatibility.md. Not asserted here: only a
        // wait could show that nothing comes.
        expect([created.canceled, created.watchId >= 0n]).toEqual([false, true]);
        expect(put.header!.revision).toBeGreaterThan(0n);
      }
    } finally {
      abort.abort();
      input.end();
      await transport.close();
    }
  });

  it("is never sent by the client: startRevision below 1 is an InvalidArgumentError", async () => {
    await using etcd = new Etcd({ endpoints: cluster.endpoints });
    for (const startRevision of [-1, -1n, 0]) {
      const err = (() => {
        try {
          etcd.watch("w/a", { startRevision });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err).toMatchObject({ field: "startRevision" });
    }
  });
});

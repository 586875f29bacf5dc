import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { create } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueuedIterator } from "../../src/client/core/queued-iterator.js";
import { createHttp2Transport } from "../../src/client/transport/http2/index.js";
import { Watch, type WatchRequest, WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { createGrpcJsTransport } from "../../src/grpc-js/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";

// A long-lived stream (the shared Watch or LeaseKeepAlive stream) must not keep the requests it already
// wrote: with a Promise.race against one promise that lives as long as the call, every request stayed
// reachable until the stream ended (nodejs/node#17469).

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const SENT = 20;

let cluster: EtcdCluster;
beforeAll(async () => {
  cluster = await startEtcd();
});
afterAll(async () => {
  await cluster?.close();
});

/**
 * Writes SENT watch creates on one stream, one at a time from a queue (as the watch hub and the lease
 * keeper feed theirs), reads each answer, and counts how many of the requests are still alive.
 */
async function requestsStillAlive(transport: Transport): Promise<number> {
  const refs: WeakRef<WatchRequest>[] = [];
  const requests = new QueuedIterator<WatchRequest>();
  const abort = new AbortController();
  const send = (i: number) => {
    const request = create(WatchRequestSchema, {
      requestUnion: { case: "createRequest", value: { key: new TextEncoder().encode(`retain/${i}`) } },
    });
    refs.push(new WeakRef(request));
    requests.push(request);
  };
  // etcd sends the response headers with its first answer: queue a request before waiting for them.
  send(0);
  const response = await transport.stream(Watch.method.watch, abort.signal, undefined, undefined, requests);
  const answers = response.message[Symbol.asyncIterator]();
  let created = 0;
  for (let i = 0; i < SENT; i++) {
    if (i > 0) send(i);
    if ((await answers.next()).value?.created) created++;
  }
  expect(created).toBe(SENT);
  // The stream is still open: what it wrote must be collectable now, not when it ends.
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  const alive = refs.filter((r) => r.deref() !== undefined).length;
  requests.end();
  abort.abort();
  return alive;
}

describe("a long-lived stream lets go of the requests it wrote", () => {
  it("http2 transport", async () => {
    const transport = createHttp2Transport({ baseUrl: cluster.endpoint });
    try {
      // The last one may still sit in the pump's frame while it waits for the next.
      expect(await requestsStillAlive(transport)).toBeLessThanOrEqual(1);
    } finally {
      await transport.close();
    }
  });

  it("grpc-js transport", async () => {
    const transport = createGrpcJsTransport({ baseUrl: cluster.endpoint });
    try {
      expect(await requestsStillAlive(transport)).toBeLessThanOrEqual(1);
    } finally {
      await transport.close();
    }
  });
});

import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, test } from "vitest";
import { Watch, type WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { createGrpcJsTransport, type GrpcJsTransport } from "../../src/grpc-js/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { until } from "../support/wait.js";

type WatchInit = MessageInitShape<typeof WatchRequestSchema>;

let etcd: EtcdCluster;
let transport: GrpcJsTransport;
beforeAll(async () => {
  etcd = await startEtcd();
  transport = createGrpcJsTransport({ baseUrl: etcd.endpoint });
});
afterAll(async () => {
  await transport?.close();
  await etcd?.close();
});

test("grpc-js: when a stream ends, the transport stops waiting on its input and calls return()", async () => {
  let returned = false;
  let pulls = 0;
  // A hand-written iterator (a queue, as the client layer uses): its second message never comes.
  const input: AsyncIterable<WatchInit> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        pulls++;
        if (pulls === 1) {
          return Promise.resolve({
            done: false,
            value: { requestUnion: { case: "createRequest", value: { key: new Uint8Array([1]) } } },
          });
        }
        return new Promise<IteratorResult<WatchInit>>(() => {});
      },
      return: async () => {
        returned = true;
        return { done: true, value: undefined };
      },
    }),
  };
  const abort = new AbortController();
  const responses = createClient(Watch, transport)
    .watch(input, { signal: abort.signal })
    [Symbol.asyncIterator]();
  expect((await responses.next()).value?.created).toBe(true);
  expect(returned).toBe(false);
  abort.abort();
  await responses.next().catch(() => {});
  await until("the input's return() to be called", () => returned);
});

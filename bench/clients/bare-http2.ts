import { connect } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { PutRequestSchema, RangeRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import type { BenchClient } from "./types.js";

const encoder = new TextEncoder();

/**
 * A reference point, not a product: one hand-framed gRPC unary call over node:http2 with no status or
 * error handling beyond reading grpc-status. It shows the floor a lean transport can approach.
 */
export function createBareHttp2Client(endpoint: string): BenchClient {
  const session = connect(endpoint);
  session.on("error", () => {});
  const call = (path: string, payload: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      const frame = Buffer.allocUnsafe(5 + payload.length);
      frame[0] = 0;
      frame.writeUInt32BE(payload.length, 1);
      frame.set(payload, 5);
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc+proto",
        te: "trailers",
      });
      stream.on("data", () => {});
      stream.on("trailers", (t) => {
        if (t["grpc-status"] !== "0") reject(new Error(`grpc-status ${t["grpc-status"]}`));
      });
      stream.on("end", resolve);
      stream.on("error", reject);
      stream.end(frame);
    });
  return {
    name: "bare-http2 (reference)",
    put: (key, value) =>
      call(
        "/etcdserverpb.KV/Put",
        toBinary(PutRequestSchema, create(PutRequestSchema, { key: encoder.encode(key), value })),
      ),
    get: (key) =>
      call(
        "/etcdserverpb.KV/Range",
        toBinary(RangeRequestSchema, create(RangeRequestSchema, { key: encoder.encode(key) })),
      ),
    close: async () => {
      session.close();
    },
  };
}

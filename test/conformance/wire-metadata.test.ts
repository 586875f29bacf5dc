import { once } from "node:events";
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  decodeBinaryHeader,
  encodeBinaryHeader,
} from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { KV, RangeResponseSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { transports } from "../support/transports.js";

/**
 * etcd ignores metadata it does not know, so what a transport really puts on the wire (and reads back)
 * is checked here against a bare node:http2 server speaking gRPC. This is not a stand-in for etcd:
 * only the transport's framing of headers, trailers and statuses is under test.
 */
const SENT_BYTES = new Uint8Array([0, 1, 2, 250, 255]);
const REPLY_BYTES = new Uint8Array([9, 8, 7, 0]);
const ERROR_MESSAGE = "etcdserver: 100% not found: “lease”";

function grpcPercentEncode(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

let server: http2.Http2Server;
let baseUrl: string;
const received: http2.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = http2.createServer();
  server.on("stream", (stream, headers) => {
    received.push(headers);
    stream.on("data", () => {});
    stream.on("end", () => {
      if (headers["x-want-error"]) {
        // Trailers-only error response; gRPC percent-encodes only '%' and bytes outside 0x20-0x7E.
        stream.respond(
          {
            ":status": 200,
            "content-type": "application/grpc",
            "grpc-status": String(5),
            "grpc-message": grpcPercentEncode(ERROR_MESSAGE),
            "x-error-detail": "d",
          },
          { endStream: true },
        );
        return;
      }
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "x-reply": "r",
          "x-reply-bin": Buffer.from(REPLY_BYTES).toString("base64"),
        },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => {
        stream.sendTrailers({ "grpc-status": "0", "x-trailer": "t" });
      });
      const body = toBinary(RangeResponseSchema, create(RangeResponseSchema, { count: 5n }));
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      frame.set(body, 5);
      stream.end(frame);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  baseUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

describe.each(transports)("metadata on the wire over $name", (factory) => {
  test("request headers (text and -bin) go out; response headers and trailers come back", async () => {
    const transport = factory.create({ baseUrl });
    try {
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      const response = await createClient(KV, transport).range(
        { key: new Uint8Array([1]) },
        {
          headers: { "x-custom": "v", "x-custom-bin": encodeBinaryHeader(SENT_BYTES), token: "tok" },
          onHeader: (h) => (header = h),
          onTrailer: (t) => (trailer = t),
        },
      );
      expect(response.count).toBe(5n);
      const got = received.at(-1)!;
      expect(got[":path"]).toBe("/etcdserverpb.KV/Range");
      expect(got["content-type"]).toMatch(/^application\/grpc/);
      expect([got["x-custom"], got.token]).toEqual(["v", "tok"]);
      expect(decodeBinaryHeader(String(got["x-custom-bin"]))).toEqual(SENT_BYTES);
      expect(header?.get("x-reply")).toBe("r");
      expect(decodeBinaryHeader(header?.get("x-reply-bin") ?? "")).toEqual(REPLY_BYTES);
      expect(trailer?.get("x-trailer")).toBe("t");
    } finally {
      await transport.close();
    }
  });

  test("a trailers-only error keeps its code, decoded message and metadata", async () => {
    const transport = factory.create({ baseUrl });
    try {
      const error = await createClient(KV, transport)
        .range({ key: new Uint8Array([1]) }, { headers: { "x-want-error": "1" } })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(ConnectError);
      const e = error as ConnectError;
      expect([e.code, e.rawMessage, e.metadata.get("x-error-detail")]).toEqual([
        Code.NotFound,
        ERROR_MESSAGE,
        "d",
      ]);
    } finally {
      await transport.close();
    }
  });
});

import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/client/core/errors.js";
import { transportAddress } from "../../src/client/transport/endpoint-address.js";
import { createH2NetTransport } from "../../src/client/transport/h2-net/index.js";
import { Http2TransportOptionsError } from "../../src/client/transport/http2/errors.js";
import { createHttp2Transport } from "../../src/client/transport/http2/transport.js";
import { createConnectNodeTransport } from "../../src/connect-node/transport.js";
import { createGrpcJsTransport } from "../../src/grpc-js/transport.js";

// Nothing is sent: every transport refuses these before it connects.
describe("transportAddress: one check of baseUrl and tls for every transport", () => {
  const transports = {
    http2: (o: { baseUrl: string; tls?: object }) => createHttp2Transport(o),
    "h2-net": (o: { baseUrl: string; tls?: object }) => createH2NetTransport(o),
    "grpc-js": (o: { baseUrl: string; tls?: object }) => createGrpcJsTransport(o),
    "connect-node": (o: { baseUrl: string; tls?: object }) => createConnectNodeTransport(o),
  };
  it.each([
    [
      { baseUrl: "127.0.0.1:2379" },
      "baseUrl",
      /must start with http:\/\/, https:\/\/, unix:\/\/ or unixs:\/\//,
    ],
    [{ baseUrl: "ftp://127.0.0.1:2379" }, "baseUrl", /unsupported scheme/],
    [{ baseUrl: "unix://" }, "baseUrl", /names no socket file/],
    [{ baseUrl: "http://127.0.0.1:2379/v3" }, "baseUrl", /only scheme, host and port/],
    [{ baseUrl: "http://u:p@127.0.0.1:2379" }, "baseUrl", /credentials belong in the auth option/],
    [{ baseUrl: "http://127.0.0.1:2379", tls: {} }, "tls", /options need an https:\/\/ or unixs:\/\//],
  ])("every transport refuses %j the same way", (options, field, message) => {
    expect(() => transportAddress(options.baseUrl, (options as { tls?: object }).tls)).toThrow(message);
    for (const [name, create] of Object.entries(transports)) {
      let thrown: unknown;
      try {
        create(options);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, name).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as InvalidArgumentError).field, name).toBe(field);
      expect((thrown as Error).message, name).toMatch(message);
      if (name === "http2" || name === "h2-net") expect(thrown).toBeInstanceOf(Http2TransportOptionsError);
    }
  });
});

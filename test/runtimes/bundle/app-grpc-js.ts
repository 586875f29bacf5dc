/**
 * The same program on the grpc-js transport (`etcd-ts/grpc-js`), bundled by test/runtimes/bundle.test.ts
 * with `@grpc/grpc-js` external, with a `require` banner, and without either (which fails on Node and
 * Deno). Argument: the etcd endpoint.
 */
import { Etcd } from "etcd-ts";
import { createGrpcJsTransport } from "etcd-ts/grpc-js";
import { exercise } from "./exercise.js";

await exercise(
  new Etcd({
    endpoints: [process.argv[2] ?? "http://127.0.0.1:2379"],
    transport: (endpoint) => createGrpcJsTransport({ baseUrl: endpoint.url, tls: endpoint.tls }),
  }),
);

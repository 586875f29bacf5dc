/**
 * A program that uses etcd-ts's default transport, bundled with esbuild by test/runtimes/bundle.test.ts
 * (the command docs/bundling.md shows) and run on Node, Bun and Deno. Argument: the etcd endpoint.
 */
import { Etcd } from "etcd-ts";
import { exercise } from "./exercise.js";

await exercise(new Etcd({ endpoints: [process.argv[2] ?? "http://127.0.0.1:2379"] }));

/**
 * A program that uses etcd-ts's default transport, bundled with esbuild by test/runtimes/bundle.test.ts
 * (the command docs/bundling.md shows) and run on Node, Bun and Deno. Argument: the etcd endpoint.
 */
import { Etcd } from "etcd-ts";

const etcd = new Etcd({ endpoints: [process.argv[2] ?? "http://127.0.0.1:2379"] });
const { revision } = await etcd.put("bundle/greeting", "hello");
const kv = await etcd.get("bundle/greeting");
let watched: string | undefined;
for await (const batch of etcd.watch({ prefix: "bundle/" }, { startRevision: revision })) {
  watched = batch.events[0]?.kv.text();
  if (watched !== undefined) break;
}
await etcd.close();
console.log(JSON.stringify({ type: "done", value: kv?.text(), watched }));

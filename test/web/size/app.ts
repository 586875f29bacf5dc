// The program whose bundle size README.md and docs/bundling.md report (`npm run check:web`): what a page
// that reads, writes, watches and keeps a lease uses of etcd-ts/web, bundled by esbuild for the browser.
import { Etcd } from "../../../src/web/index.js";

const etcd = new Etcd({ endpoints: "http://127.0.0.1:2379" });
await etcd.put("greeting", "hello");
console.log((await etcd.get("greeting"))?.text());
const lease = await etcd.lease.grant(10);
await etcd.put("presence", "here", { lease: lease.id });
for await (const batch of etcd.watch("greeting")) {
  console.log(batch.events.map((event) => event.type));
  break;
}
await lease.close();
await etcd.close();

/**
 * KV basics: put, get, prefix ranges, paging through a large range, delete.
 * Run: `npx tsx examples/kv.ts [endpoint...]` (default http://127.0.0.1:2379).
 */
import { pathToFileURL } from "node:url";
import { Etcd } from "../src/index.js";

export async function main(endpoints: string[]) {
  await using etcd = new Etcd({ endpoints });

  // Keys and values are strings or bytes; revisions are bigints.
  const { revision } = await etcd.put("config/app/name", "demo");
  await etcd.put("config/app/limits", JSON.stringify({ rps: 100 }));
  console.log(`written at revision ${revision}`);

  const name = await etcd.get("config/app/name");
  console.log(`name = ${name?.text()} (version ${name?.version})`);

  const limits = await etcd.get("config/app/limits");
  console.log(`rps = ${limits?.json<{ rps: number }>().rps}`);

  // Everything under a prefix, sorted, with a limit.
  const page = await etcd.range({ prefix: "config/app/" }, { limit: 10, sort: { target: "key" } });
  console.log(`keys: ${page.kvs.map((kv) => kv.keyText()).join(", ")} (count ${page.count})`);

  // Any number of keys, a page at a time, all at one revision.
  let seen = 0;
  for await (const kv of etcd.iterate({ prefix: "config/" }, { pageSize: 500 })) {
    if (kv.key.length > 0) seen++;
  }
  console.log(`iterated over ${seen} keys`);

  const { deleted } = await etcd.delete({ prefix: "config/app/" });
  console.log(`deleted ${deleted} keys`);
  return { revision, name: name?.text(), keys: page.kvs.map((kv) => kv.keyText()), seen, deleted };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const endpoints = process.argv.slice(2);
  await main(endpoints.length > 0 ? endpoints : ["http://127.0.0.1:2379"]);
}

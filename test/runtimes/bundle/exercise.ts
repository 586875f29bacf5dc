import type { Etcd } from "etcd-ts";

/** What each bundled program does with its client: put, get, one watch event, close; prints one line. */
export async function exercise(etcd: Etcd): Promise<void> {
  const { revision } = await etcd.put("bundle/greeting", "hello");
  const kv = await etcd.get("bundle/greeting");
  let watched: string | undefined;
  for await (const batch of etcd.watch({ prefix: "bundle/" }, { startRevision: revision })) {
    watched = batch.events[0]?.kv.text();
    if (watched !== undefined) break;
  }
  await etcd.close();
  console.log(JSON.stringify({ type: "done", value: kv?.text(), watched }));
}

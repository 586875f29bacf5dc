/**
 * Error handling: every failure is an EtcdError with a gRPC `code`, the server's message and the
 * endpoint; branch on the subclasses.
 * Run: `npx tsx examples/errors.ts [endpoint...]` (default http://127.0.0.1:2379).
 */
import { pathToFileURL } from "node:url";
import {
  CompactedError,
  DeadlineExceededError,
  Etcd,
  EtcdError,
  InvalidArgumentError,
  UnavailableError,
} from "../src/index.js";

export async function main(endpoints: string[]) {
  await using etcd = new Etcd({ endpoints, timeoutMs: 5_000 });
  const caught: string[] = [];

  // Bad input is refused before anything is sent, naming the field.
  try {
    await etcd.put("", "value");
  } catch (err) {
    if (err instanceof InvalidArgumentError) {
      console.log(`invalid ${err.field}: ${err.message}`);
      caught.push(err.name);
    }
  }

  // Reading history that was compacted away.
  const old = await etcd.put("errors/k", "v1");
  const latest = await etcd.put("errors/k", "v2");
  await etcd.compact(latest.revision);
  try {
    await etcd.get("errors/k", { revision: old.revision });
  } catch (err) {
    if (err instanceof CompactedError) {
      console.log(`compacted (code ${err.code}, from ${err.endpoint}): read a newer revision`);
      caught.push(err.name);
    }
  }

  // Deadlines and aborts apply to every call (here: a signal that was already aborted).
  try {
    await etcd.get("errors/k", { signal: AbortSignal.abort() });
  } catch (err) {
    if (err instanceof EtcdError) caught.push(err.name);
  }

  // Transport trouble: no endpoint answers.
  await using offline = new Etcd({ endpoints: ["http://127.0.0.1:9"], retry: { maxAttempts: 2 } });
  try {
    await offline.get("anything");
  } catch (err) {
    if (err instanceof UnavailableError || err instanceof DeadlineExceededError) {
      console.log(`etcd unreachable: ${err.serverMessage}`);
      caught.push(err.name);
    } else throw err;
  }
  return caught;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const endpoints = process.argv.slice(2);
  await main(endpoints.length > 0 ? endpoints : ["http://127.0.0.1:2379"]);
}

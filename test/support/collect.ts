import type { Watcher } from "../../src/client/index.js";

/**
 * Collects the keys of every event a watch delivers, as text; `done` settles when the watch ends, with
 * its error (or undefined when it was closed).
 */
export function collect(watcher: Watcher): { keys: string[]; done: Promise<unknown> } {
  const keys: string[] = [];
  const done = (async () => {
    for await (const batch of watcher) for (const e of batch.events) keys.push(e.kv.keyText());
  })().then(
    () => undefined,
    (err: unknown) => err,
  );
  return { keys, done };
}

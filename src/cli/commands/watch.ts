import type { KeyValue, WatchEvent } from "../../client/index.js";
import type { Command } from "../command.js";
import { watchJson } from "../etcdctl-json.js";
import { parseInteger } from "../ids.js";
import { keyRangeOf, RANGE_OPTIONS } from "../key-range.js";
import type { Output } from "../output.js";

function printEvent(out: Output, event: WatchEvent): void {
  if (out.json) {
    const { type, kv, prevKv } = event;
    out.document({ type, revision: kv.modRevision, kv, ...(prevKv ? { prevKv } : {}) });
    return;
  }
  const lines = [event.type === "put" ? "PUT" : "DELETE"];
  const show = (kv: KeyValue) => lines.push(kv.keyText(), kv.text());
  if (event.prevKv) show(event.prevKv);
  show(event.kv);
  out.line(lines.join("\n"));
}

/** `etcd-ts watch`: prints every change of a key or range until Ctrl-C. */
export const watch: Command = {
  name: "watch",
  summary: "Print every change of a key, a range or a prefix until Ctrl-C (resumed across reconnects)",
  usage: "<key> [range_end]",
  args: { min: 1, max: 2 },
  etcdctlJson: true,
  options: {
    ...RANGE_OPTIONS,
    rev: {
      type: "string",
      value: "<revision>",
      description: "start at this revision (e.g. the last one seen + 1, to resume)",
    },
    "prev-kv": { type: "boolean", description: "print each event's previous key-value too" },
  },
  details:
    "Prints PUT or DELETE, then the key and the value on the next lines (etcdctl's format; with\n" +
    "--prev-kv the previous key and value come first). With --json: one line per event,\n" +
    "{ type: 'put' | 'delete', revision, kv, prevKv? }. A broken connection is resumed from the revision\n" +
    "after the last event printed: no event is lost or printed twice (stderr says when it broke and when it\n" +
    "resumed). SIGINT or SIGTERM end it with exit code 0; a watch the server ends (its revision was\n" +
    "compacted, permission denied) exits with 1.",
  examples: [
    "etcd-ts watch greeting",
    "etcd-ts watch --prefix jobs/ --json",
    "etcd-ts watch --prefix jobs/ --rev 1042   # replays from revision 1042, then follows",
  ],
  async run(ctx) {
    const rev = ctx.string("rev");
    const watcher = ctx.etcd().watch(keyRangeOf(ctx), {
      ...(rev !== undefined ? { startRevision: parseInteger(rev, "--rev", 1) } : {}),
      prevKv: ctx.flag("prev-kv"),
      signal: ctx.signal,
    });
    // Say on stderr when the connection breaks and when the watch is back: a quiet watch looks the same.
    // Only for a watch that was running: one refused at its creation (permission denied) goes through a
    // reopen of the stream before it ends, and "connection lost" would name the wrong cause.
    let broken = false;
    let running = false;
    watcher.on("state", (state) => {
      if (state === "active") running = true;
      if (state === "disconnected" && running && !broken) {
        broken = true;
        const from = watcher.nextRevision;
        ctx.out.note(
          `etcd-ts: watch: connection lost; resuming${from === undefined ? "" : ` from revision ${from}`}`,
        );
      } else if (state === "active" && broken) {
        broken = false;
        ctx.out.note("etcd-ts: watch: resumed");
      }
    });
    for await (const batch of watcher) {
      if (ctx.out.etcdctlJson) {
        if (batch.events.length > 0) ctx.out.etcdctlDocument(watchJson(ctx.headers.latest, batch));
      } else for (const event of batch.events) printEvent(ctx.out, event);
    }
    return 0;
  },
};

import { Etcd } from "../../client/index.js";
import type { Command } from "../command.js";
import { resolveConnection } from "../connection.js";
import { parseInteger } from "../ids.js";
import { MirrorCopy } from "../mirror-copy.js";
import { UsageError } from "../usage-error.js";

/** How often the count of keys and changes copied is printed (etcdctl's 30 s). */
const PRINT_EVERY_MS = 30_000;

/** `etcd-ts make-mirror <destination>`: copies a prefix to another cluster and keeps it up to date. */
export const makeMirror: Command = {
  name: "make-mirror",
  summary:
    "Copy a prefix to another cluster, then keep copying its changes until Ctrl-C (etcdctl's make-mirror)",
  usage: "<destination>",
  args: { min: 1, max: 1 },
  options: {
    prefix: { type: "string", value: "<prefix>", description: "the prefix to mirror (default: every key)" },
    "dest-prefix": {
      type: "string",
      value: "<prefix>",
      description: "put the keys under this prefix at the destination instead of --prefix",
    },
    "no-dest-prefix": {
      type: "boolean",
      description: "put the keys at the root of the destination (--prefix removed)",
    },
    rev: {
      type: "string",
      value: "<revision>",
      description: "skip the copy of the prefix; copy its changes from this revision on",
    },
    "max-txn-ops": {
      type: "string",
      value: "<n>",
      description: "most operations per txn at the destination (default 128, etcd's own limit)",
    },
    "dest-cacert": { type: "string", value: "<file>", description: "CA bundle (PEM) of the destination" },
    "dest-cert": {
      type: "string",
      value: "<file>",
      description: "client certificate (PEM) for the destination",
    },
    "dest-key": { type: "string", value: "<file>", description: "key (PEM) of --dest-cert" },
    "dest-user": {
      type: "string",
      value: "<name[:password]>",
      description: "user at the destination",
    },
    "dest-password": { type: "string", value: "<password>", description: "password of --dest-user" },
  },
  details:
    "Reads the prefix at one revision in pages and writes each key to the destination, then copies every\n" +
    "change from the next revision on, one txn per source revision (split above --max-txn-ops). Resumed\n" +
    "across broken connections without losing a change. Prints the number of keys and changes copied\n" +
    "every 30 s and when it ends (as etcdctl does). SIGINT or SIGTERM end it with exit code 0. When the\n" +
    "changes to copy were compacted (it fell behind a compaction, or --rev is older than it) it exits with\n" +
    "1, as etcdctl does: start it again without --rev to copy the prefix afresh. The destination is one or\n" +
    "more client URLs (comma-separated); TLS follows its scheme (https://) or --dest-cacert; the global\n" +
    "--dial-timeout and --command-timeout apply to it too. --dest-insecure-transport is not taken: a\n" +
    "destination is plain unless its URL or a --dest-* TLS flag says otherwise.",
  examples: [
    "etcd-ts make-mirror --prefix app/ http://10.0.0.2:2379",
    "etcd-ts make-mirror --prefix app/ --dest-prefix backup/app/ --dest-user root:secret http://10.0.0.2:2379",
    "etcd-ts make-mirror --prefix app/ --rev 1042 http://10.0.0.2:2379   # the destination has up to 1041",
  ],
  async run(ctx) {
    if (ctx.flag("no-dest-prefix") && ctx.string("dest-prefix") !== undefined)
      throw new UsageError("--dest-prefix and --no-dest-prefix cannot be set at the same time, choose one");
    const rev = ctx.string("rev");
    const startRevision = rev === undefined ? undefined : parseInteger(rev, "--rev", 1);
    const maxTxnOps = ctx.string("max-txn-ops");
    const opsPerTxn = maxTxnOps === undefined ? 128 : Number(parseInteger(maxTxnOps, "--max-txn-ops", 1));
    const prefix = new TextEncoder().encode(ctx.string("prefix") ?? "");
    const destPrefix = ctx.flag("no-dest-prefix")
      ? new Uint8Array(0)
      : new TextEncoder().encode(ctx.string("dest-prefix") ?? ctx.string("prefix") ?? "");
    const source = ctx.clientOptions();
    // The destination's own flags; the environment's ETCDCTL_* name the source only, as in etcdctl.
    const dest = await resolveConnection({
      strings: {
        endpoints: ctx.args[0],
        user: ctx.string("dest-user"),
        password: ctx.string("dest-password"),
        cacert: ctx.string("dest-cacert"),
        cert: ctx.string("dest-cert"),
        key: ctx.string("dest-key"),
      },
      insecureSkipTlsVerify: false,
      env: {},
    }).catch((err: unknown) => {
      throw err instanceof UsageError
        ? new UsageError(`destination: ${err.message.replaceAll("--", "--dest-")}`)
        : err;
    });
    await using destination = new Etcd({
      ...dest.options,
      connectTimeoutMs: source.connectTimeoutMs,
      timeoutMs: source.timeoutMs,
    });
    const copy = new MirrorCopy(destination, prefix, destPrefix, opsPerTxn);
    const mirror = ctx.etcd().mirror(prefix, { startRevision, signal: ctx.signal });
    const printer = setInterval(() => ctx.out.line(String(copy.total)), PRINT_EVERY_MS);
    try {
      for await (const batch of mirror) await copy.apply(batch);
    } finally {
      clearInterval(printer);
      ctx.out.line(String(copy.total));
    }
    return 0;
  },
};

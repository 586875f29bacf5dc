import { spawn } from "node:child_process";
import { constants } from "node:os";
import { Mutex } from "../../client/index.js";
import { bestEffort } from "../best-effort.js";
import type { Command, CommandContext } from "../command.js";
import { SESSION_OPTIONS, withSession } from "../session.js";
import { untilStopped } from "../until-stopped.js";

/**
 * Runs `ctx.rest` while the lock is held, with ETCD_LOCK_KEY and ETCD_LOCK_REV set (as etcdctl does).
 * SIGINT / SIGTERM are passed on to it; a lost lock stops it with SIGTERM and fails the command.
 * Resolves with its exit code (128 + the signal's number when a signal ended it).
 */
async function runWhileHeld(ctx: CommandContext, mutex: Mutex): Promise<number> {
  const [program, ...args] = ctx.rest as [string, ...string[]];
  const child = spawn(program, args, {
    stdio: "inherit",
    env: { ...ctx.env, ETCD_LOCK_KEY: mutex.key, ETCD_LOCK_REV: mutex.revision.toString() },
  });
  let lostWith: Error | undefined;
  const forward = () => child.kill(ctx.signal.reason === "SIGINT" ? "SIGINT" : "SIGTERM");
  ctx.signal.addEventListener("abort", forward, { once: true });
  void mutex.closed.then((error) => {
    if (!error) return;
    lostWith = error;
    child.kill("SIGTERM");
  });
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (c, s) => resolve([c, s]));
    });
    if (lostWith) throw lostWith;
    return code ?? 128 + (signal ? constants.signals[signal] : 0);
  } finally {
    ctx.signal.removeEventListener("abort", forward);
  }
}

/** `etcd-ts lock <name> [command...]`. */
export const lock: Command = {
  name: "lock",
  summary: "Take a distributed lock; hold it until Ctrl-C, or while a command runs",
  usage: "<name> [command [args...]]",
  args: { min: 1, max: 1 },
  restAfter: 1,
  options: SESSION_OPTIONS,
  details:
    "The lock of Go's concurrency package (key <name>/<lease id>, the oldest key holds it), so etcdctl\n" +
    "and Go programs contend for the same lock. Waits until the lock is free. Without a command: prints\n" +
    "the lock key (with --json { name, key, revision, lease }) and holds the lock until SIGINT or SIGTERM\n" +
    "(exit 0). With a command: runs it with ETCD_LOCK_KEY and ETCD_LOCK_REV set, releases the lock when it\n" +
    "exits and exits with its code (SIGINT/SIGTERM are passed on to it). A lock lost while held (its lease\n" +
    "expired) stops the command with SIGTERM and exits with 1. Options of etcd-ts go before the command.",
  examples: [
    "etcd-ts lock deploy",
    "etcd-ts lock deploy -- ./deploy.sh --prod",
    "etcd-ts lock --ttl 30 backup pg_dump mydb",
  ],
  async run(ctx) {
    const name = ctx.args[0]!;
    return withSession(ctx, async (session) => {
      const mutex = new Mutex(session, name);
      await mutex.lock({ signal: ctx.signal });
      try {
        if (ctx.rest.length > 0) return await runWhileHeld(ctx, mutex);
        if (ctx.out.json)
          ctx.out.document({ name, key: mutex.key, revision: mutex.revision, lease: session.leaseId });
        else ctx.out.line(mutex.key);
        await untilStopped(ctx.signal, mutex.closed);
        return 0;
      } finally {
        await bestEffort(ctx.out, "unlock", () => mutex.unlock());
      }
    });
  },
};

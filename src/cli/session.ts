import { Session } from "../client/index.js";
import { bestEffort } from "./best-effort.js";
import type { CommandContext, OptionSpecs } from "./command.js";
import { parseInteger } from "./ids.js";

/** `--ttl` of `lock` and `elect`. */
export const SESSION_OPTIONS: OptionSpecs = {
  ttl: {
    type: "string",
    value: "<seconds>",
    description: "TTL of the session lease behind the lock or candidacy (default 10, as etcdctl)",
  },
};

/**
 * Runs `work` with a session (Go's concurrency.Session: a kept-alive lease of `--ttl` seconds) and
 * closes it afterwards, which revokes the lease and so deletes every key of the session; a failed
 * close is noted on stderr, never thrown over `work`'s outcome.
 */
export async function withSession<T>(
  ctx: CommandContext,
  work: (session: Session) => Promise<T>,
): Promise<T> {
  const ttlText = ctx.string("ttl");
  const ttl = ttlText === undefined ? 10 : Number(parseInteger(ttlText, "--ttl", 1));
  const session = await Session.create(ctx.etcd(), { ttl, signal: ctx.signal });
  try {
    return await work(session);
  } finally {
    await bestEffort(ctx.out, "closing the session", () => session.close());
  }
}

import { describe, expect, it } from "vitest";
import { Backoff } from "../core/backoff.js";
import {
  broken,
  done,
  type FollowBroken,
  type FollowDone,
  type FollowMoved,
  type FollowRead,
  type FollowSteps,
  follow,
  moved,
  readAt,
} from "./follow.js";

/** Records what the follower asks of its backoff; never waits (every delay is 0). */
class RecordingBackoff extends Backoff {
  readonly calls: string[] = [];
  constructor() {
    super({ initialMs: 100, maxMs: 5000 });
  }
  override next(): number {
    this.calls.push("next");
    return 0;
  }
  override reset(): void {
    this.calls.push("reset");
  }
  override afterRun(_startedAt: number, healthyMs: number): number {
    this.calls.push(`afterRun ${healthyMs}`);
    return 0;
  }
}

type ReadStep = () => Promise<FollowRead | FollowDone<string>>;
type WatchStep = (from: bigint) => Promise<FollowBroken | FollowMoved | FollowDone<string>>;

/** A fake range and watch: each call takes the next scripted answer and is written to `log`. */
function script(reads: ReadStep[], watches: WatchStep[], failed: FollowSteps<string>["failed"] = () => true) {
  const log: string[] = [];
  const steps: FollowSteps<string> = {
    read: () => {
      log.push("read");
      const next = reads.shift();
      if (!next) throw new Error("no more reads scripted");
      return next();
    },
    watch: (from) => {
      log.push(`watch ${from}`);
      const next = watches.shift();
      if (!next) throw new Error("no more watches scripted");
      return next(from);
    },
    failed: (error, during) => {
      log.push(`failed ${during} ${(error as Error).message}`);
      return failed(error, during);
    },
  };
  return { steps, log };
}

const at = (revision: bigint) => () => Promise.resolve(readAt(revision));
const fails = (message: string) => () => Promise.reject(new Error(message));
const ends = (value: string) => () => Promise.resolve(done(value));
const breaks = (message: string) => () => Promise.resolve(broken(new Error(message)));
const changes = () => Promise.resolve(moved);

describe("follow", () => {
  it("reads, then watches from the read's revision + 1, and ends with the watch's verdict", async () => {
    const { steps, log } = script([at(10n)], [ends("deleted")]);
    const backoff = new RecordingBackoff();
    const value = await follow(steps, { signal: new AbortController().signal, backoff });
    expect(value).toBe("deleted");
    expect(log).toEqual(["read", "watch 11"]);
    expect(backoff.calls).toEqual([]);
  });

  it("with `from`, watches first without reading", async () => {
    const { steps, log } = script([], [ends("x")]);
    expect(await follow(steps, { signal: new AbortController().signal, from: 5n })).toBe("x");
    expect(log).toEqual(["watch 5"]);
  });

  it("ends with a read's verdict without watching", async () => {
    const { steps, log } = script([ends("gone")], []);
    expect(await follow(steps, { signal: new AbortController().signal })).toBe("gone");
    expect(log).toEqual(["read"]);
  });

  it("a failed read is reported, then read again after the next backoff step", async () => {
    const { steps, log } = script([fails("down"), fails("still down"), at(3n)], [ends("ok")]);
    const backoff = new RecordingBackoff();
    expect(await follow(steps, { signal: new AbortController().signal, backoff })).toBe("ok");
    expect(log).toEqual(["read", "failed read down", "read", "failed read still down", "read", "watch 4"]);
    expect(backoff.calls).toEqual(["next", "next"]);
  });

  it("a broken watch is reported, then read again after a delay that depends on how long it held", async () => {
    const { steps, log } = script([at(20n)], [breaks("canceled"), ends("ok")]);
    const backoff = new RecordingBackoff();
    const value = await follow(steps, {
      signal: new AbortController().signal,
      from: 7n,
      backoff,
      healthyMs: 30_000,
    });
    expect(value).toBe("ok");
    expect(log).toEqual(["watch 7", "failed watch canceled", "read", "watch 21"]);
    expect(backoff.calls).toEqual(["afterRun 30000"]);
  });

  it("healthyMs defaults to 5 s", async () => {
    const { steps } = script([at(2n)], [breaks("canceled"), ends("ok")]);
    const backoff = new RecordingBackoff();
    await follow(steps, { signal: new AbortController().signal, from: 1n, backoff });
    expect(backoff.calls).toEqual(["afterRun 5000"]);
  });

  it("after `moved`, reads again at once and the backoff starts over", async () => {
    const { steps, log } = script([at(1n), at(9n)], [changes, ends("ok")]);
    const backoff = new RecordingBackoff();
    expect(await follow(steps, { signal: new AbortController().signal, backoff })).toBe("ok");
    expect(log).toEqual(["read", "watch 2", "read", "watch 10"]);
    expect(backoff.calls).toEqual(["reset"]);
  });

  it("ends with undefined when `failed` says stop, after a read or a watch", async () => {
    const a = script([fails("denied")], [], () => false);
    expect(await follow(a.steps, { signal: new AbortController().signal })).toBeUndefined();
    expect(a.log).toEqual(["read", "failed read denied"]);
    const b = script([], [breaks("refused")], () => false);
    expect(await follow(b.steps, { signal: new AbortController().signal, from: 1n })).toBeUndefined();
    expect(b.log).toEqual(["watch 1", "failed watch refused"]);
  });

  it("rejects with what `failed` throws", async () => {
    const wrong = new Error("not retryable");
    const { steps } = script([fails("bug")], [], () => {
      throw wrong;
    });
    await expect(follow(steps, { signal: new AbortController().signal })).rejects.toBe(wrong);
  });

  it("does nothing once its signal has aborted", async () => {
    const { steps, log } = script([at(1n)], [ends("x")]);
    expect(await follow(steps, { signal: AbortSignal.abort() })).toBeUndefined();
    expect(log).toEqual([]);
  });

  it("an abort during the watch ends it with undefined; the watch's end is not reported as a failure", async () => {
    const controller = new AbortController();
    const { steps, log } = script(
      [],
      [
        () => {
          controller.abort();
          return Promise.resolve(broken(new Error("closed by the abort")));
        },
      ],
    );
    expect(await follow(steps, { signal: controller.signal, from: 1n })).toBeUndefined();
    expect(log).toEqual(["watch 1"]);
  });

  it("an abort during a read ends it: no failure reported, no watch started", async () => {
    const controller = new AbortController();
    const a = script(
      [
        () => {
          controller.abort();
          return Promise.reject(new Error("aborted"));
        },
      ],
      [],
    );
    expect(await follow(a.steps, { signal: controller.signal })).toBeUndefined();
    expect(a.log).toEqual(["read"]);
    const late = new AbortController();
    const b = script(
      [
        () => {
          late.abort();
          return Promise.resolve(readAt(4n));
        },
      ],
      [],
    );
    expect(await follow(b.steps, { signal: late.signal })).toBeUndefined();
    expect(b.log).toEqual(["read"]);
  });

  it("an abort during the backoff's wait ends it without another read", async () => {
    const controller = new AbortController();
    const { steps, log } = script([fails("down")], []);
    // A wait of a minute, aborted as soon as it started: the test would time out if the abort did not cut it.
    const backoff = new (class extends Backoff {
      override next(): number {
        setTimeout(() => controller.abort(), 0);
        return 60_000;
      }
    })({ initialMs: 100, maxMs: 5000 });
    expect(await follow(steps, { signal: controller.signal, backoff })).toBeUndefined();
    expect(log).toEqual(["read", "failed read down"]);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GrpcSession } from "./grpc-session.js";
import { type KeepaliveHost, KeepaliveMonitor, MIN_PING_GAP_MS } from "./keepalive.js";

/** A host whose session records pings; `ack()` answers the oldest one. */
function fakeHost(wantsKeepalive = true) {
  const pending: ((err: Error | null) => void)[] = [];
  const timeouts: number[] = [];
  const session = {
    destroyed: false,
    connecting: false,
    ping(cb: (err: Error | null) => void) {
      pending.push(cb);
      return true;
    },
  };
  const host: KeepaliveHost = {
    session: session as unknown as GrpcSession,
    ready: true,
    wantsKeepalive: () => wantsKeepalive,
    onKeepaliveTimeout: (ms) => timeouts.push(ms),
  };
  let sent = 0;
  return {
    host,
    timeouts,
    get sent() {
      return sent + pending.length;
    },
    ack() {
      sent++;
      pending.shift()?.(null);
    },
  };
}

/** Runs due timers and the immediates they queue. */
async function advance(ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
}

describe("KeepaliveMonitor", () => {
  let monitor: KeepaliveMonitor | undefined;
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "setImmediate", "Date"],
    });
  });
  afterEach(() => {
    monitor?.stop();
    vi.useRealTimers();
  });

  it("shares one ping among the checks that come while it is in flight", async () => {
    const f = fakeHost();
    monitor = new KeepaliveMonitor(f.host, 0, 5_000);
    const first = monitor.check(1_000);
    const second = monitor.check(1_000);
    expect(f.sent).toBe(1);
    f.ack();
    expect(await first).toBe(true);
    expect(await second).toBe(true);
  });

  it("sends the next ping no sooner than MIN_PING_GAP_MS after the previous one", async () => {
    const f = fakeHost();
    monitor = new KeepaliveMonitor(f.host, 0, 5_000);
    const first = monitor.check(1_000);
    f.ack();
    await first;
    let answered: boolean | undefined;
    void monitor.check(1_000).then((alive) => {
      answered = alive;
    });
    await advance(MIN_PING_GAP_MS - 1);
    expect(f.sent).toBe(1);
    await advance(1);
    expect(f.sent).toBe(2);
    f.ack();
    await advance(0);
    expect(answered).toBe(true);
  });

  it("reports false when the ack is later than the check's timeout, counted from when the ping left", async () => {
    const f = fakeHost();
    monitor = new KeepaliveMonitor(f.host, 0, 5_000);
    let answered: boolean | undefined;
    void monitor.check(1_000).then((alive) => {
      answered = alive;
    });
    await advance(999);
    expect(answered).toBeUndefined();
    // The verdict waits for an immediate (a tick of the fake clock), so that an ack already read wins.
    await advance(2);
    expect(answered).toBe(false);
    // Keepalive is off: the monitor only reports, it declares nothing dead.
    expect(f.timeouts).toEqual([]);
    // A check while the unanswered ping is in flight shares it; a late ack still answers it.
    const later = monitor.check(1_000);
    f.ack();
    expect(await later).toBe(true);
  });

  it("lets a keepalive ping serve a queued check, and skips a tick after a check's ping", async () => {
    const f = fakeHost();
    monitor = new KeepaliveMonitor(f.host, 2_000, 1_000);
    await advance(1_000);
    const first = monitor.check(1_000);
    f.ack();
    await first;
    // The keepalive tick at 2 s skips: a ping went out 1 s ago.
    await advance(1_000);
    expect(f.sent).toBe(1);
    let answered: boolean | undefined;
    void monitor.check(1_000).then((alive) => {
      answered = alive;
    });
    // The tick at 4 s sends a ping (2 s since the last), and the queued check rides on it.
    await advance(2_000);
    expect(f.sent).toBe(2);
    f.ack();
    await advance(0);
    expect(answered).toBe(true);
  });

  it("declares the connection dead when a ping of either kind goes unanswered for the keepalive timeout", async () => {
    const f = fakeHost();
    monitor = new KeepaliveMonitor(f.host, 10_000, 3_000);
    void monitor.check(500);
    await advance(2_999);
    expect(f.timeouts).toEqual([]);
    await advance(1);
    expect(f.timeouts).toEqual([3_000]);
  });

  it("answers true at once when there is nothing to check, and settles pending checks when stopped", async () => {
    const f = fakeHost();
    const notReady = new KeepaliveMonitor({ ...f.host, ready: false }, 0, 1_000);
    expect(await notReady.check(1_000)).toBe(true);
    notReady.stop();
    monitor = new KeepaliveMonitor(f.host, 0, 1_000);
    const pending = monitor.check(60_000);
    monitor.stop();
    expect(await pending).toBe(true);
  });
});

import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import type { Etcd } from "../../src/client/etcd.js";
import { createConnectNodeTransport } from "../../src/connect-node/index.js";
import {
  type BalancedTransportOptions,
  createBalancedTransport,
  register,
} from "../../src/discovery/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { ConnectTestServer, TestService } from "./servers.js";
import { CLIENT_OPTIONS, until } from "./support.js";

/**
 * Outlier ejection against real servers registered in a real etcd. A "crashed" instance is a server
 * killed while its registration (lease kept alive by this process) stays: etcd keeps listing it, which is
 * what clients see between a SIGKILL and the lease's expiry. `Status` has no idempotency option, so it is
 * not retried on UNAVAILABLE: every call sent to a dead instance fails unless ejection keeps it away.
 */
describe("createBalancedTransport() outlier ejection", () => {
  const env = useEtcd({ client: CLIENT_OPTIONS });
  const { cleanups } = env;
  let etcd: Etcd;

  beforeAll(() => {
    etcd = env.client();
  });

  async function instance(service: string) {
    const handle = { server: await ConnectTestServer.start() };
    // A long TTL: the registration must outlive the test, as a crashed process's lease would for a while.
    const registration = await register(etcd, { service, addr: handle.server.addr, ttl: 30 });
    cleanups.push(
      () => handle.server.kill(),
      () => registration.close(),
    );
    /** Starts the server again on the same address (the registration never went away). */
    const revive = async () => {
      handle.server = await ConnectTestServer.start(0, Number(handle.server.addr.split(":")[1]));
    };
    return { handle, registration, revive };
  }

  /** Unary attempts sent by the balanced transports, by instance address. */
  const attempts = new Map<string, number>();

  /**
   * A balanced transport over etcd-ts' connect-node transport (`"etcd-ts"`, which marks refused calls as
   * never sent, so they are retried whatever the method) or over plain connect-node (`"connect-node"`, as in
   * the docs' example: a refused call fails unless the method is retryable).
   */
  function balanced(
    service: string,
    extra: Partial<BalancedTransportOptions> = {},
    over: "etcd-ts" | "connect-node" = "etcd-ts",
  ) {
    const transport = createBalancedTransport({
      etcd,
      service,
      createTransport: (addr) =>
        counted(
          addr,
          over === "etcd-ts"
            ? createConnectNodeTransport({ baseUrl: `http://${addr}` })
            : createGrpcTransport({ baseUrl: `http://${addr}` }),
        ),
      ...extra,
    } as BalancedTransportOptions);
    cleanups.push(() => transport.close());
    return { transport, api: createClient(TestService, transport) };
  }

  function counted(addr: string, inner: Transport & { close?: () => Promise<void> }): Transport {
    return {
      unary(...args: Parameters<Transport["unary"]>) {
        attempts.set(addr, (attempts.get(addr) ?? 0) + 1);
        return inner.unary(...args);
      },
      stream: (...args: Parameters<Transport["stream"]>) => inner.stream(...args),
      close: () => inner.close?.(),
    } as Transport;
  }
  const attemptsOn = (addr: string) => attempts.get(addr) ?? 0;

  /** Makes `n` calls; returns the answering addresses and the errors. */
  async function calls(api: ReturnType<typeof balanced>["api"], n: number) {
    const answers: string[] = [];
    const errors: ConnectError[] = [];
    for (let i = 0; i < n; i++) {
      try {
        answers.push((await api.status({})).version);
      } catch (err) {
        errors.push(ConnectError.from(err));
      }
    }
    return { answers, errors };
  }

  it("ejects a killed, still registered instance at its first refused call: then no call fails", async () => {
    const a = await instance("kill");
    const b = await instance("kill");
    const { api, transport } = balanced("kill", {}, "connect-node");
    const control = balanced("kill", { outlierDetection: false }, "connect-node").api;
    const warm = await calls(api, 4);
    expect(new Set(warm.answers)).toEqual(new Set([a.handle.server.addr, b.handle.server.addr]));
    await calls(control, 4);
    a.handle.server.kill();

    const first = await calls(api, 4);
    // One refused call (UNAVAILABLE) ejects; a call already written on the dropped connection may fail
    // first (plain connect-node reports that one as INTERNAL).
    expect(first.errors.filter((e) => e.code === Code.Unavailable)).toHaveLength(1);
    expect(first.errors.length).toBeLessThanOrEqual(2);
    for (const e of first.errors) expect([Code.Unavailable, Code.Internal]).toContain(e.code);
    expect(transport.ejected()).toEqual([a.registration.key]);

    const after = await calls(api, 30);
    expect(after.errors).toEqual([]);
    expect(after.answers.every((addr) => addr === b.handle.server.addr)).toBe(true);

    // Without ejection, the same calls keep failing on the dead instance (what this feature removes).
    const without = await calls(control, 30);
    expect(without.errors.length).toBeGreaterThanOrEqual(10);
  });

  it("over a transport that retries refused calls, stops sending attempts to the dead instance", async () => {
    const a = await instance("attempts");
    await instance("attempts");
    const { api, transport } = balanced("attempts");
    const control = balanced("attempts", { outlierDetection: false }).api;
    await calls(api, 4);
    await calls(control, 4);
    a.handle.server.kill();
    // Refused calls are marked never-sent and retried on b, with or without ejection. A call written on
    // the connection as it dropped may fail (not retried: it may have been sent).
    const first = await calls(api, 4);
    expect(first.errors.length).toBeLessThanOrEqual(1);
    for (const e of first.errors) expect(e.code).toBe(Code.Unavailable);
    expect(transport.ejected()).toEqual([a.registration.key]);
    const before = attemptsOn(a.handle.server.addr);
    const after = await calls(api, 30);
    expect(after.errors).toEqual([]);
    expect(attemptsOn(a.handle.server.addr)).toBe(before);
    // Without ejection every other call pays a refused attempt first.
    const controlBefore = attemptsOn(a.handle.server.addr);
    expect((await calls(control, 30)).errors).toEqual([]);
    expect(attemptsOn(a.handle.server.addr) - controlBefore).toBeGreaterThanOrEqual(10);
  });

  it("lets an ejected instance back in after the ejection time, once it serves again", async () => {
    // Long enough that a revived server and one call fit in it on any machine that is not stuck.
    const ejectionMs = 5000;
    const a = await instance("back");
    const b = await instance("back");
    const { api, transport } = balanced("back", { outlierDetection: { baseEjectionMs: ejectionMs } });
    await calls(api, 4);
    a.handle.server.kill();
    // The pool stamps an ejection with Date.now() as the ejecting call ends: not before that call began.
    let ejectedNoEarlierThan = 0;
    await until("a ejected", async () => {
      ejectedNoEarlierThan = Date.now();
      await calls(api, 1);
      return transport.ejected().length > 0;
    });
    expect(transport.ejected()).toEqual([a.registration.key]);
    await a.revive();

    // Serving again, but still ejected: no call reaches it. An ejection only ends with time, so a call
    // after which a is still ejected was picked while it was ejected, however slow the machine.
    const aEjected = () => transport.ejected().includes(a.registration.key);
    let during = 0;
    while (during < 20) {
      const one = await calls(api, 1);
      if (!aEjected()) break;
      expect(one).toEqual({ answers: [b.handle.server.addr], errors: [] });
      expect(a.handle.server.calls).toBe(0);
      during++;
    }
    expect(during, `no call ended within the ${ejectionMs} ms ejection: the machine stalled`).toBeGreaterThan(
      0,
    );

    await until("a picked again", async () => (await calls(api, 1)).answers[0] === a.handle.server.addr);
    // The pool keeps it out until its timestamp (a bound the code enforces, not a measured speed).
    expect(Date.now() - ejectedNoEarlierThan).toBeGreaterThanOrEqual(ejectionMs);
    expect(transport.ejected()).toEqual([]);
    const later = await calls(api, 10);
    expect(later.errors).toEqual([]);
    expect(new Set(later.answers)).toEqual(new Set([a.handle.server.addr, b.handle.server.addr]));
  });

  it("with every instance down, calls still try them and fail fast with UNAVAILABLE", async () => {
    const a = await instance("all");
    const b = await instance("all");
    const { api, transport } = balanced("all");
    const retrying = balanced("all", { isRetryable: () => true }).api;
    await calls(api, 2);
    a.handle.server.kill();
    b.handle.server.kill();
    const attemptsBefore = attemptsOn(a.handle.server.addr) + attemptsOn(b.handle.server.addr);
    const down = await calls(api, 8);
    expect(down.answers).toEqual([]);
    expect(down.errors).toHaveLength(8);
    for (const e of down.errors) {
      expect(e.code).toBe(Code.Unavailable);
      // Sent to an instance and refused there, not "no live instance": ejection left them pickable, and no
      // call waited `waitForInstanceMs` for one to come back (that wait ends in "no live instance in time").
      expect(e.message).not.toContain("no live instance");
    }
    // Each call reached at least one of them (a refused one is retried on the other).
    expect(
      attemptsOn(a.handle.server.addr) + attemptsOn(b.handle.server.addr) - attemptsBefore,
    ).toBeGreaterThanOrEqual(8);
    expect(transport.ejected().sort()).toEqual([a.registration.key, b.registration.key].sort());

    // One comes back while both are ejected: calls reach it (a retryable call tries both).
    await a.revive();
    const back = await calls(retrying, 10);
    expect(back.errors).toEqual([]);
    expect(back.answers.every((addr) => addr === a.handle.server.addr)).toBe(true);
  });

  it("counts streams too: a stream refused by a killed instance ejects it", async () => {
    const a = await instance("streams");
    await instance("streams");
    const { api, transport } = balanced("streams");
    /** Opens a Snapshot stream (the test servers do not implement it: a live one answers UNIMPLEMENTED). */
    const snapshot = async () => {
      try {
        for await (const _ of api.snapshot({})) break;
        return "ok";
      } catch (err) {
        return Code[ConnectError.from(err).code];
      }
    };
    expect([await snapshot(), await snapshot()]).toEqual(["Unimplemented", "Unimplemented"]);
    expect(transport.ejected()).toEqual([]);
    a.handle.server.kill();
    const first = [await snapshot(), await snapshot(), await snapshot()];
    expect(first.filter((c) => c === "Unavailable").length).toBeGreaterThanOrEqual(1);
    expect(transport.ejected()).toEqual([a.registration.key]);
    const after = await Promise.all(Array.from({ length: 10 }, snapshot));
    expect(after).toEqual(Array(10).fill("Unimplemented"));
  });

  it("never ejects on application errors; ejects on UNAVAILABLE answers after consecutiveFailures", async () => {
    const a = await instance("app");
    const b = await instance("app");
    const { api, transport } = balanced("app");
    a.handle.server.failWith = Code.InvalidArgument;
    const before = a.handle.server.calls;
    const invalid = await calls(api, 20);
    expect(invalid.errors).toHaveLength(10);
    for (const e of invalid.errors) expect(e.code).toBe(Code.InvalidArgument);
    expect(a.handle.server.calls - before).toBe(10);
    expect(transport.ejected()).toEqual([]);

    // UNAVAILABLE from a live server may be a momentary overload: 3 in a row (the default) eject.
    a.handle.server.failWith = Code.Unavailable;
    const start = a.handle.server.calls;
    const unavailable = await calls(api, 20);
    expect(a.handle.server.calls - start).toBe(3);
    expect(unavailable.errors).toHaveLength(3);
    expect(transport.ejected()).toEqual([a.registration.key]);
    expect(unavailable.answers.filter((addr) => addr === b.handle.server.addr)).toHaveLength(17);
  });
});

// `new Etcd({ transport: "h2-net" })`: the client on the h2-net transport, with the client's own
// connection options. The conformance suites run the transport itself against etcd (test/conformance);
// test/transport/h2-net-limits.test.ts runs it against a hostile server.
import { describe, expect, it } from "vitest";
import { Etcd, H2NetProtocolError, UnavailableError } from "../../src/client/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { FrameType, rawFrame, startH2TestServer } from "../support/h2-test-server.js";
import { until, within } from "../support/wait.js";

describe('new Etcd({ transport: "h2-net" })', () => {
  const { client, cleanups } = useEtcd({ client: { transport: "h2-net" } });

  it("puts, reads, watches and keeps a lease over h2-net", async () => {
    const etcd = client();
    const events: string[] = [];
    const watch = etcd.watch({ prefix: "h2net/" });
    cleanups.push(() => watch.close());
    watch.on("batch", (b) => events.push(...b.events.map((e) => e.kv.text())));
    await until("the watch active", () => watch.state === "active");
    const lease = await etcd.lease.grant(5, { keepAlive: true });
    cleanups.push(() => lease.revoke());
    await etcd.put("h2net/a", "1", { lease: lease.id });
    expect((await etcd.get("h2net/a"))?.text()).toBe("1");
    const big = "x".repeat(1_000_000);
    await etcd.put("h2net/big", big);
    expect((await etcd.get("h2net/big"))?.text()).toBe(big);
    await until("both events", () => events.length === 2);
    expect(events[0]).toBe("1");
  });

  it("is the transport the option names: a server's PING flood ends its connection with H2NetProtocolError", async () => {
    const server = await startH2TestServer((c) => {
      c.sendSettings();
      void c
        .next((f) => f.type === "headers")
        .then(() => {
          const ping = rawFrame(FrameType.PING, 0, 0, Buffer.alloc(8));
          c.send(Buffer.concat(Array.from({ length: 2_000 }, () => ping)));
        });
    });
    cleanups.push(() => server.close());
    const etcd = new Etcd({
      endpoints: server.url,
      transport: "h2-net",
      timeoutMs: 5_000,
      retry: { maxAttempts: 1 },
    });
    cleanups.push(() => etcd.close());
    const error = await within(
      etcd.put("k", "v").then(
        () => undefined,
        (e: unknown) => e,
      ),
      "the put to fail",
    );
    expect(error).toBeInstanceOf(UnavailableError);
    let cause: unknown = error;
    while (cause instanceof Error && !(cause instanceof H2NetProtocolError)) cause = cause.cause;
    expect(cause).toBeInstanceOf(H2NetProtocolError);
    expect((cause as H2NetProtocolError).code).toBe("PING_FLOOD");
  });
});

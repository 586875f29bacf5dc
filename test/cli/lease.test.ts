import { describe, expect, it } from "vitest";
import { cliJson, cliOk, runCli, stderrOf, useEtcd } from "./support.js";

const bed = useEtcd();

describe("etcd-ts lease", { timeout: 120_000 }, () => {
  it("grant, ttl --keys, list and revoke, with IDs in hex as etcdctl prints them", async () => {
    const granted = await cliJson<{ id: string; idHex: string; ttl: number }>([
      ...bed.ep,
      "lease",
      "grant",
      "120",
    ]);
    expect(granted.ttl).toBe(120);
    const id = BigInt(granted.id);
    expect(granted.idHex).toBe(id.toString(16).padStart(16, "0")); // etcdctl's %016x
    expect((await bed.etcd.lease.timeToLive(id)).grantedTtl).toBe(120);
    await bed.etcd.put("leased/a", "x", { lease: id });

    const ttl = await cliOk([...bed.ep, "lease", "ttl", granted.idHex, "--keys"]);
    expect(ttl).toMatch(
      new RegExp(
        `^lease ${granted.idHex} granted with TTL\\(120s\\), remaining\\(\\d+s\\), attached keys\\(\\[leased/a\\]\\)\\n$`,
      ),
    );
    const list = await cliOk([...bed.ep, "lease", "list"]);
    expect(list.split("\n")[0]).toMatch(/^ID +DECIMAL$/);
    expect(list).toContain(`${granted.idHex}  ${granted.id}`);
    expect(await cliJson([...bed.ep, "lease", "list"])).toContainEqual({
      id: granted.id,
      idHex: granted.idHex,
    });

    expect(await cliOk([...bed.ep, "lease", "revoke", granted.idHex])).toBe(
      `lease ${granted.idHex} revoked\n`,
    );
    expect(await bed.etcd.get("leased/a")).toBeUndefined();
    expect(await cliOk([...bed.ep, "lease", "ttl", granted.idHex])).toBe(
      `lease ${granted.idHex} already expired\n`,
    );
    const again = await runCli([...bed.ep, "lease", "revoke", granted.idHex]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^etcd-ts: etcdserver: requested lease not found/);
  });

  it("keep-alive keeps a lease past its TTL until SIGINT (exit 0), without revoking it", async () => {
    // The test keeps the lease alive until the CLI's first refresh (however long the child takes to
    // start), then lets go: from then on only the CLI keeps it.
    // IDs shorter than 16 hex digits, which etcdctl (and so etcd-ts) print zero-padded.
    const lease = await bed.etcd.lease.grant(3, { id: 0x5eed1 });
    const hex = "000000000005eed1";
    const c = bed.start(["lease", "keep-alive", hex, "--json"]);
    await c.waitForLine("refresh 1", () => c.lines.length >= 1);
    await lease.close();
    // Refreshes every third of the TTL: four more after the first span more than one TTL.
    for (let n = 2; n <= 5; n++) await c.waitForLine(`refresh ${n}`, () => c.lines.length >= n);
    expect(JSON.parse(c.lines[0]!)).toEqual({ id: lease.id.toString(), idHex: hex, ttl: 3 });
    expect((await bed.etcd.lease.timeToLive(lease.id)).ttl).toBeGreaterThan(0);
    c.signal("SIGINT");
    expect(await c.waitForExit("keep-alive to end after SIGINT")).toEqual({ code: 0, signal: null });
    expect((await bed.etcd.lease.timeToLive(lease.id)).ttl).toBeGreaterThan(0); // not revoked
    await bed.etcd.lease.revoke(lease.id);
  });

  it("keep-alive exits with 1 and says so when the lease is revoked under it; --once refreshes once", async () => {
    // The test keeps the lease alive while the children start (however long that takes), and lets go
    // only once the keep-alive child refreshed it: no child has to start within the TTL.
    const lease = await bed.etcd.lease.grant(6, { id: 0x5eed2 });
    const hex = "000000000005eed2";
    expect(await cliOk([...bed.ep, "lease", "keep-alive", hex, "--once"])).toBe(
      `lease ${hex} keepalived with TTL(6s)\n`,
    );
    const c = bed.start(["lease", "keep-alive", hex]);
    await c.waitForLine("the first refresh", (line) => line === `lease ${hex} keepalived with TTL(6s)`);
    await lease.close();
    await bed.etcd.lease.revoke(lease.id);
    const exit = await c.waitForExit("keep-alive to end once the lease is gone", 60_000);
    expect(exit.code).toBe(1);
    expect(stderrOf(c)).toBe(`etcd-ts: lease ${hex} expired or was revoked`);
  });
});

import { afterAll, describe, expect, it } from "vitest";
import { CompactedError, Etcd } from "../../src/client/index.js";
import { gatewayRequest } from "../../src/testing/index.js";
import { EtcdLender } from "../support/etcd-fixture.js";

// The lender behind `useSharedEtcd()`: one etcd lent to one file at a time, reset between them, and
// thrown away (naming the file) when a file changed what the next one would inherit.

describe("EtcdLender", () => {
  const lender = new EtcdLender();
  const clients: Etcd[] = [];
  const client = (endpoints: string[], own: ConstructorParameters<typeof Etcd>[0] = { endpoints }) => {
    const c = new Etcd(own);
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of clients.splice(0)) await c.close();
    await lender.close();
  });

  it("lends the same etcd again after a reset: no key, no lease, no history of the previous user", async () => {
    const first = await lender.lend("file one");
    const etcd = client(first.endpoints);
    const lease = await etcd.lease.grant(60, { keepAlive: false });
    const { revision } = await etcd.put("k", "v", { lease: lease.id });
    await etcd.put("other", "v");
    await lender.giveBack();

    const second = await lender.lend("file two");
    expect(second).toBe(first);
    expect(second.members[0]!.pid).toBe(first.members[0]!.pid);
    expect((await etcd.range({ fromKey: "\0" })).kvs).toEqual([]);
    expect(await etcd.lease.leases()).toEqual([]);
    await expect(etcd.range("k", { revision })).rejects.toBeInstanceOf(CompactedError);
    // A user who wrote nothing gives it back too (the history is compacted already).
    await lender.giveBack();
    await lender.lend("file three");
    await lender.giveBack();
  });

  it("refuses a second user while the first has it", async () => {
    await lender.lend("file one");
    await expect(lender.lend("file two")).rejects.toThrow(/in use by file one \(asked by file two\)/);
    await lender.giveBack();
  });

  it("throws the etcd away, naming the user, when it was left with auth on, an alarm or a stopped member", async () => {
    const withAuth = await lender.lend("auth file");
    const root = client(withAuth.endpoints);
    await root.auth.users.add("root", "root-pw");
    await root.auth.users.grantRole("root", "root");
    await root.auth.enable();
    // The step named is the first call etcd refuses without a token: listing the members from 3.4.42,
    // 3.5.28 and 3.6.9 (CVE-2026-33413), deleting the keys before.
    await expect(lender.giveBack()).rejects.toThrow(
      /auth file left cluster-wide state .*auth is on: a client without credentials was refused .* while (listing the members|deleting every key)\)/,
    );
    expect(withAuth.members[0]!.running).toBe(false);

    const withAlarm = await lender.lend("alarm file");
    expect(withAlarm).not.toBe(withAuth);
    const plain = client(withAlarm.endpoints);
    // A fresh etcd: auth is off again.
    await plain.put("k", "v");
    const { memberId } = await plain.status();
    await gatewayRequest(withAlarm.endpoint, "/v3/maintenance/alarm", {
      action: "ACTIVATE",
      memberID: memberId.toString(),
      alarm: "NOSPACE",
    });
    await expect(lender.giveBack()).rejects.toThrow(
      /alarm file left cluster-wide state .*alarms are raised \(NOSPACE\)/,
    );

    const killed = await lender.lend("kill file");
    expect(killed).not.toBe(withAlarm);
    await killed.members[0]!.kill();
    await expect(lender.giveBack()).rejects.toThrow(/kill file left .*member m0 is not running/);
    expect((await lender.lend("next file")).members[0]!.running).toBe(true);
    await lender.giveBack();
  });
});

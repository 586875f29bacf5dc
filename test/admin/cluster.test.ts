import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Etcd,
  EtcdError,
  InvalidArgumentError,
  initialCluster,
  UnavailableError,
} from "../../src/client/index.js";
import { type EtcdCluster, type EtcdMember, freePort } from "../../src/testing/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { until } from "../support/wait.js";
import { retryReconfiguration } from "./support.js";

const env = useEtcd({ start: { members: 1 } });
let cluster: EtcdCluster;
let etcd: Etcd;

beforeAll(() => {
  cluster = env.cluster;
  etcd = env.client({ timeoutMs: 5_000 });
});

afterAll(async () => {
  await etcd?.close();
  await cluster?.close();
});

/** MemberAdd through etcd.cluster, then the kit starts the member with the initial cluster it implies. */
async function grow(name: string, learner: boolean): Promise<{ member: EtcdMember; id: bigint }> {
  const member = await cluster.prepareMember("placeholder", { name });
  const added = await retryReconfiguration(() => etcd.cluster.add([member.peerUrl], { learner }));
  expect(added.member.peerUrls).toEqual([member.peerUrl]);
  expect(added.member.isLearner).toBe(learner);
  expect(added.member.name).toBe("");
  expect(added.members.map((m) => m.id)).toContain(added.member.id);
  member.configure(initialCluster(added.members, added.member.id, name), "existing");
  await member.start({ timeoutMs: 30_000 });
  return { member, id: added.member.id };
}

describe("etcd.cluster", () => {
  let second: { member: EtcdMember; id: bigint };
  let third: { member: EtcdMember; id: bigint };

  it("lists the one member", async () => {
    const members = await etcd.cluster.list();
    expect(members).toHaveLength(1);
    expect(members[0]).toMatchObject({
      name: "m0",
      clientUrls: [cluster.endpoint],
      peerUrls: [cluster.members[0]!.peerUrl],
      isLearner: false,
    });
    expect(members[0]!.id).toBe((await cluster.members[0]!.status()).memberId);
    // linearizable is a 3.5 field; 3.4 ignores it and still answers.
    expect(await etcd.cluster.list({ linearizable: true })).toEqual(members);
  });

  it("grows 1 -> 2 with a voting member", async () => {
    second = await grow("m1", false);
    const members = await etcd.cluster.list();
    expect(members).toHaveLength(2);
    const m1 = members.find((m) => m.id === second.id);
    expect(m1).toMatchObject({ name: "m1", clientUrls: [second.member.clientUrl], isLearner: false });
    // Aimed at the new member: its own status says who answered.
    const status = await etcd.maintenance.status(second.member.clientUrl);
    expect(status.memberId).toBe(second.id);
    expect(status.endpoint).toBe(second.member.clientUrl);
  });

  it("grows 2 -> 3 with a learner, then promotes it", async () => {
    third = await grow("m2", true);
    let members = await etcd.cluster.list();
    expect(members).toHaveLength(3);
    expect(members.find((m) => m.id === third.id)?.isLearner).toBe(true);
    // Aimed at the learner: it answers Status (and says it is one) but refuses MemberList in 3.4.
    expect((await etcd.maintenance.status(third.member.clientUrl)).isLearner).toBe(true);
    members = await retryReconfiguration(() => etcd.cluster.promote(third.id));
    expect(members.find((m) => m.id === third.id)?.isLearner).toBe(false);
    // Every member applies the promotion when the conf change reaches it, the promoted one too: a list or a
    // status read from a member that has not applied it yet still says "learner", so wait for each to say so.
    // A read that fails meanwhile (the conf change moving the leader) counts as not yet.
    await until("the member list to show no learner", () =>
      etcd.cluster
        .list()
        .then((list) => list.every((m) => !m.isLearner))
        .catch(() => false),
    );
    // The promoted member votes: it reports itself as a voter.
    await until("the promoted member to report itself as a voter", () =>
      etcd.maintenance
        .status(third.member.clientUrl)
        .then((status) => !status.isLearner)
        .catch(() => false),
    );
  });

  it("updates a member's peer URLs and back", async () => {
    const extra = `http://127.0.0.1:${await freePort()}`;
    const original = second.member.peerUrl;
    let members = await retryReconfiguration(() => etcd.cluster.update(second.id, [original, extra]));
    expect(members.find((m) => m.id === second.id)?.peerUrls).toEqual([original, extra]);
    expect((await etcd.cluster.list()).find((m) => m.id === second.id)?.peerUrls).toEqual([original, extra]);
    members = await retryReconfiguration(() => etcd.cluster.update(second.id, [original]));
    expect(members.find((m) => m.id === second.id)?.peerUrls).toEqual([original]);
  });

  it("syncEndpoints learns the voting members from the list", async () => {
    const endpoints = await etcd.syncEndpoints();
    expect([...endpoints].sort()).toEqual([...cluster.endpoints].sort());
  });

  it("removes a member, which then shuts down", async () => {
    // Sent through a member that stays: the removed one may stop before it answers ("server stopped").
    const via = { endpoint: third.member.clientUrl };
    const members = await retryReconfiguration(() => etcd.cluster.remove(second.id, via));
    expect(members.map((m) => m.id)).not.toContain(second.id);
    expect(members).toHaveLength(2);
    await until("the removed member to exit", () => !second.member.running);
    expect((await etcd.cluster.list({ endpoint: third.member.clientUrl })).map((m) => m.id).sort()).toEqual(
      members.map((m) => m.id).sort(),
    );
  });

  it("a call aimed at one endpoint does not fail over", async () => {
    const dead = second.member.clientUrl;
    const err = await etcd.cluster.list({ endpoint: dead, timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).endpoint).toBe(dead);
    // Unaimed, the same call is served by a live member.
    expect(await etcd.cluster.list()).toHaveLength(2);
  });

  it("the server's refusals come back typed", async () => {
    const err = await etcd.cluster.remove(123456789n).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect((err as EtcdError).serverMessage).toBe("etcdserver: member not found");
    const promote = await etcd.cluster.promote(cluster.members[0]!.memberId!).catch((e: unknown) => e);
    expect((promote as EtcdError).serverMessage).toMatch(/can only promote a learner member/);
  });

  it("validates input before sending", async () => {
    await expect(etcd.cluster.add([])).rejects.toMatchObject({ field: "peerUrls" });
    await expect(etcd.cluster.add(["not a url"])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(etcd.cluster.add(["ftp://127.0.0.1:2380"])).rejects.toMatchObject({ field: "peerUrls" });
    await expect(etcd.cluster.update(1n, ["http://127.0.0.1"])).rejects.toMatchObject({ field: "peerUrls" });
    await expect(etcd.cluster.remove(0n)).rejects.toMatchObject({ field: "id" });
    await expect(etcd.cluster.list({ endpoint: "https://127.0.0.1:1" })).rejects.toMatchObject({
      field: "endpoint",
    });
  });
});

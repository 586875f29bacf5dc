import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdCluster, type EtcdMember, startEtcd } from "../../src/testing/index.js";
import { retryReconfiguration } from "../admin/support.js";
import { cliJson, cliOk, runCli } from "./support.js";

let cluster: EtcdCluster;
let ep: string[];

beforeAll(async () => {
  cluster = await startEtcd();
  ep = ["--endpoints", cluster.endpoint];
});

afterAll(async () => {
  await cluster?.close();
});

interface MemberJson {
  id: string;
  idHex: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

describe("etcd-ts member and endpoint", { timeout: 180_000 }, () => {
  let added: { member: EtcdMember; idHex: string };

  it("member add --learner prints how to start it; it starts with that; member promote makes it vote", async () => {
    const member = await cluster.prepareMember("placeholder", { name: "m1" });
    const result = await retryReconfiguration(() =>
      cliJson<{ member: MemberJson; members: MemberJson[]; initialCluster: string }>([
        ...ep,
        "member",
        "add",
        "m1",
        "--peer-urls",
        member.peerUrl,
        "--learner",
      ]),
    );
    expect(result.member).toMatchObject({ name: "", peerUrls: [member.peerUrl], isLearner: true });
    // In the member list's order (by ID), as etcdctl prints it.
    expect(result.initialCluster.split(",").sort()).toEqual([
      `m0=${cluster.members[0]!.peerUrl}`,
      `m1=${member.peerUrl}`,
    ]);
    member.configure(result.initialCluster, "existing");
    await member.start({ timeoutMs: 30_000 });
    added = { member, idHex: result.member.idHex };

    const table = (await cliOk([...ep, "member", "list"])).trimEnd().split("\n");
    expect(table[0]).toMatch(/^ID +STATUS +NAME +PEER URLS +CLIENT URLS +LEARNER$/);
    const row = table.find((line) => line.startsWith(added.idHex))?.split(/ {2,}/);
    expect(row).toEqual([added.idHex, "started", "m1", member.peerUrl, member.clientUrl, "true"]);

    const promoted = await retryReconfiguration(() => cliOk([...ep, "member", "promote", added.idHex]));
    expect(promoted).toBe(`Member ${added.idHex} promoted in cluster\n`);
    const members = await cliJson<MemberJson[]>([...ep, "member", "list"]);
    expect(members.map((m) => [m.name, m.isLearner]).sort()).toEqual([
      ["m0", false],
      ["m1", false],
    ]);
  });

  it("endpoint status and health --cluster: a row per member; an endpoint that is down fails health with 1", async () => {
    const status = await cliJson<{ endpoint: string; status?: { isLeader: boolean; version: string } }[]>([
      ...ep,
      "endpoint",
      "status",
      "--cluster",
    ]);
    expect(status.map((s) => s.endpoint).sort()).toEqual([...cluster.endpoints].sort());
    expect(status.filter((s) => s.status?.isLeader)).toHaveLength(1);
    expect(status.every((s) => /^3\./.test(s.status?.version ?? ""))).toBe(true);
    const statusTable = (await cliOk([...ep, "endpoint", "status", "--cluster"])).trimEnd().split("\n");
    expect(statusTable).toHaveLength(3);
    expect(statusTable[0]).toMatch(/^ENDPOINT +ID +VERSION +DB SIZE +DB IN USE +LEADER +LEARNER +RAFT TERM/);

    const health = (await cliOk([...ep, "endpoint", "health", "--cluster"])).trimEnd().split("\n");
    expect(health[0]).toMatch(/^ENDPOINT +HEALTH +TOOK +ERROR$/);
    expect(
      health
        .slice(1)
        .map((row) => row.split(/ +/).slice(0, 2))
        .sort(),
    ).toEqual(cluster.endpoints.map((e) => [e, "true"]).sort());

    const down = "http://127.0.0.1:1";
    const r = await runCli(["--endpoints", `${cluster.endpoint},${down}`, "endpoint", "health", "--json"]);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as { endpoint: string; health: boolean; error?: string }[];
    expect(rows.map((row) => [row.endpoint, row.health])).toEqual([
      [cluster.endpoint, true],
      [down, false],
    ]);
    expect(rows[1]!.error).toMatch(/could not connect/);
    const s = await runCli(["--endpoints", `${cluster.endpoint},${down}`, "endpoint", "status"]);
    expect(s.code).toBe(1);
    expect(s.stdout.trimEnd().split("\n")[2]).toMatch(/^http:\/\/127\.0\.0\.1:1 +could not connect/);
  });

  it("member remove takes the member out of the list", async () => {
    const removed = await retryReconfiguration(() => cliOk([...ep, "member", "remove", added.idHex]));
    expect(removed).toBe(`Member ${added.idHex} removed from cluster\n`);
    const members = await cliJson<MemberJson[]>([...ep, "member", "list"]);
    expect(members.map((m) => m.name)).toEqual(["m0"]);
  });
});

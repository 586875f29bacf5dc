import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EtcdError } from "../../src/client/index.js";
import {
  EtcdCluster,
  EtcdContainer,
  EtcdGatewayError,
  EtcdUnavailableError,
  fetchMemberList,
  fetchMemberStatus,
  gatewayRequest,
  isDockerAvailable,
  startEtcd,
} from "../../src/testing/index.js";
import { compiled } from "../support/compiled.js";
import { eventually, gatewayGet, gatewayPut, pidAlive } from "../support/etcd-gateway.js";
import { until } from "../support/wait.js";

const dockerAvailable = await isDockerAvailable();
const run = promisify(execFile);

/** Clusters a test started; afterEach closes them even when the test failed. */
const started: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.allSettled(started.splice(0).map((c) => c.close()));
});
function track<T extends { close(): Promise<void> }>(c: T): T {
  started.push(c);
  return c;
}

describe("one member", () => {
  it("starts, serves the gateway, knows its member id, and close() kills it and removes its data", async () => {
    const cluster = track(await startEtcd());
    const member = cluster.members[0]!;
    expect(cluster.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(cluster.endpoints).toEqual([cluster.endpoint]);
    const status = await fetchMemberStatus(cluster.endpoint);
    expect(status.version).toMatch(/^3\./);
    expect(typeof member.memberId).toBe("bigint");
    expect(member.memberId).toBe(status.memberId);
    expect(status.leader).toBe(status.memberId);
    await gatewayPut(cluster.endpoint, "k", "v");
    expect(await gatewayGet(cluster.endpoint, "k")).toBe("v");
    const pid = member.pid!;
    expect(pidAlive(pid)).toBe(true);
    await cluster.close();
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(cluster.root)).toBe(false);
    await cluster.close(); // twice is fine
  });

  it("stop() ends the process gracefully and restart() keeps the data", async () => {
    const cluster = track(await startEtcd());
    const member = cluster.members[0]!;
    await gatewayPut(cluster.endpoint, "durable", "yes");
    const before = member.pid!;
    await member.restart();
    expect(member.pid).not.toBe(before);
    expect(await gatewayGet(cluster.endpoint, "durable")).toBe("yes");
    await member.restart({ kill: true });
    expect(await gatewayGet(cluster.endpoint, "durable")).toBe("yes");
    await member.stop();
    expect(member.running).toBe(false);
    // Refused at once; the long timeout only keeps a slow machine from turning that into GATEWAY_TIMEOUT.
    await expect(fetchMemberStatus(cluster.endpoint, { timeoutMs: 15_000 })).rejects.toMatchObject({
      kind: "GATEWAY_NETWORK",
      code: Code.Unavailable,
    });
  });

  it("freeze() makes requests time out and thaw() makes them succeed again", async () => {
    const cluster = track(await startEtcd());
    const member = cluster.members[0]!;
    await member.freeze();
    expect(member.frozen).toBe(true);
    const err = await fetchMemberStatus(cluster.endpoint, { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdGatewayError);
    expect((err as EtcdGatewayError).kind).toBe("GATEWAY_TIMEOUT");
    member.thaw();
    expect(member.frozen).toBe(false);
    const status = await fetchMemberStatus(cluster.endpoint, { timeoutMs: 15_000 });
    expect(status.memberId).toBe(member.memberId);
  });

  it("close() kills a frozen member too, leaving nothing stopped behind", async () => {
    const cluster = track(await startEtcd());
    const member = cluster.members[0]!;
    const pid = member.pid!;
    await member.freeze();
    await cluster.close();
    expect(pidAlive(pid)).toBe(false);
    expect(member.running).toBe(false);
  });
});

describe("three-member cluster", () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcd({ members: 3 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("finds the leader, and a new one is elected after the leader is killed", async () => {
    expect(cluster.endpoints).toHaveLength(3);
    expect(new Set(cluster.members.map((m) => m.memberId)).size).toBe(3);
    const first = await cluster.leader();
    const firstTerm = (await first.status()).raftTerm;
    for (const m of cluster.members) expect((await m.status()).leader).toBe(first.memberId);
    await first.kill();
    expect(first.running).toBe(false);
    const second = await cluster.leader({ timeoutMs: 20_000 });
    expect(second).not.toBe(first);
    expect(second.running).toBe(true);
    // Status's raftTerm is the term of the last entry the member applied: a new leader says it leads
    // before it has applied its first entry of the new term, so the term shows up a moment later.
    let secondTerm = (await second.status()).raftTerm;
    await until("the new leader's status to show the new term", async () => {
      secondTerm = (await second.status()).raftTerm;
      return secondTerm > firstTerm;
    });
    expect(secondTerm).toBeGreaterThan(firstTerm);
    // The old leader comes back as a follower of the new one, with the data written meanwhile.
    await gatewayPut(second.clientUrl, "after-election", "1");
    await first.restart();
    expect((await first.status()).leader).not.toBe(0n);
    expect(await gatewayGet(first.clientUrl, "after-election", { timeoutMs: 15_000 })).toBe("1");
  });
});

describe("membership", () => {
  it("adds a learner, promotes it, adds a voter, and removes both", async () => {
    const cluster = track(await startEtcd());
    const seed = cluster.endpoint;

    const learner = await cluster.addMember({ learner: true });
    expect(cluster.members).toContain(learner);
    expect(typeof learner.memberId).toBe("bigint");
    let list = await fetchMemberList(seed);
    expect(list).toHaveLength(2);
    const asLearner = list.find((m) => m.id === learner.memberId)!;
    expect(asLearner.isLearner).toBe(true);
    expect(asLearner.name).toBe(learner.name);
    expect(asLearner.peerURLs).toEqual([learner.peerUrl]);

    await cluster.promote(learner);
    list = await fetchMemberList(seed);
    expect(list.find((m) => m.id === learner.memberId)!.isLearner).toBe(false);

    const voter = await cluster.addMember({ name: "extra" });
    expect(voter.name).toBe("extra");
    list = await fetchMemberList(seed);
    expect(list.map((m) => m.id).sort()).toEqual(cluster.members.map((m) => m.memberId).sort());
    expect(list.find((m) => m.id === voter.memberId)!.isLearner).toBe(false);
    await gatewayPut(seed, "replicated", "3");
    expect(await gatewayGet(voter.clientUrl, "replicated")).toBe("3");

    await cluster.removeMember(voter);
    await cluster.removeMember(learner);
    expect(voter.running).toBe(false);
    expect(learner.running).toBe(false);
    expect(existsSync(voter.dataDir)).toBe(false);
    expect(cluster.members).toHaveLength(1);
    list = await fetchMemberList(seed);
    expect(list.map((m) => m.id)).toEqual([cluster.members[0]!.memberId]);
  });

  it("refuses to promote a member that is not a learner", async () => {
    const cluster = track(await startEtcd());
    await expect(cluster.promote(cluster.members[0]!, { timeoutMs: 2_000 })).rejects.toBeInstanceOf(
      EtcdGatewayError,
    );
  });
});

describe("TLS", () => {
  it("serves https with the generated CA, and refuses a client that does not trust it", async () => {
    const cluster = track(await startEtcd({ tls: true }));
    const tls = cluster.tls!;
    expect(cluster.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(tls.clientCertAuth).toBe(false);
    for (const f of [tls.caFile, tls.certFile, tls.keyFile, tls.clientCertFile, tls.clientKeyFile])
      expect(existsSync(f)).toBe(true);
    expect(tls.ca.toString()).toContain("BEGIN CERTIFICATE");
    const status = await fetchMemberStatus(cluster.endpoint, { tls: { ca: tls.ca } });
    expect(status.memberId).toBe(cluster.members[0]!.memberId);
    // Also through "localhost", the other SAN.
    const viaName = cluster.endpoint.replace("127.0.0.1", "localhost");
    await gatewayPut(viaName, "secure", "yes", { tls: { ca: tls.ca } });
    expect(await gatewayGet(cluster.endpoint, "secure", { tls: { ca: tls.ca } })).toBe("yes");
    // The handshake fails at once; the long timeout keeps a slow one from reading as GATEWAY_TIMEOUT.
    await expect(fetchMemberStatus(cluster.endpoint, { timeoutMs: 15_000 })).rejects.toMatchObject({
      kind: "GATEWAY_NETWORK",
      code: Code.Unavailable,
    });
  });

  it("with clientCertAuth, a client certificate is required", async () => {
    const cluster = track(await startEtcd({ tls: { clientCertAuth: true } }));
    const tls = cluster.tls!;
    expect(tls.clientCertAuth).toBe(true);
    const withCert = { ca: tls.ca, cert: tls.clientCert, key: tls.clientKey };
    await gatewayPut(cluster.endpoint, "mtls", "ok", { tls: withCert });
    expect(await gatewayGet(cluster.endpoint, "mtls", { tls: withCert })).toBe("ok");
    const err = await fetchMemberStatus(cluster.endpoint, { tls: { ca: tls.ca }, timeoutMs: 15_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EtcdGatewayError);
    expect((err as EtcdGatewayError).kind).toBe("GATEWAY_NETWORK");
  });

  it("runs a TLS cluster whose helpers (leader, addMember) talk TLS", async () => {
    const cluster = track(await startEtcd({ members: 3, tls: { clientCertAuth: true } }));
    const leader = await cluster.leader();
    expect(cluster.members).toContain(leader);
    const added = await cluster.addMember({ learner: true });
    expect(added.clientUrl).toMatch(/^https:/);
    await cluster.removeMember(added);
    expect(cluster.members).toHaveLength(3);
  });
});

describe("when no etcd can be found", () => {
  it("names the three ways to get one when the given binary does not exist", async () => {
    const err = await startEtcd({ binary: "/nonexistent/etcd" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdUnavailableError);
    const e = err as EtcdUnavailableError;
    expect(e).toBeInstanceOf(EtcdError);
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.message).toContain("/nonexistent/etcd");
    expect(e.message).toContain("ETCD_BIN");
    expect(e.message).toContain("apt-get install etcd-server");
    expect(e.message).toContain("Docker");
  });

  it("names the three ways when neither ETCD_BIN nor PATH has etcd", async () => {
    const err = await startEtcd({ env: { PATH: "/nonexistent" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdUnavailableError);
    expect((err as Error).message).toMatch(/ETCD_BIN.*PATH.*Docker/s);
  });

  it("rejects an ETCD_BIN that is not executable rather than falling back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "etcd-ts-notexec-"));
    try {
      const file = join(dir, "etcd");
      await writeFile(file, "not a program", { mode: 0o644 });
      const err = await startEtcd({ env: { ETCD_BIN: file, PATH: process.env.PATH } }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EtcdUnavailableError);
      expect((err as Error).message).toContain(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it(`runtime "auto" falls back to Docker, else fails naming the three ways (Docker ${dockerAvailable ? "available" : "unavailable here"})`, async () => {
    const result = await startEtcd({ runtime: "auto", env: { PATH: "/nonexistent" } }).catch(
      (e: unknown) => e,
    );
    if (dockerAvailable) {
      expect(result).toBeInstanceOf(EtcdContainer);
      await (result as EtcdContainer).close();
    } else {
      expect(result).toBeInstanceOf(EtcdUnavailableError);
      expect((result as Error).message).toContain("no Docker engine answered");
    }
  });

  it(`runtime "auto" prefers the local binary`, async () => {
    const result = track(await startEtcd({ runtime: "auto" }));
    expect(result).toBeInstanceOf(EtcdCluster);
  });
});

describe("teardown guarantees", () => {
  /** Runs `body` with os.tmpdir() pointing at a fresh dir, so leftovers of this test alone are visible. */
  async function inOwnTmpdir(body: (dir: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "etcd-ts-teardown-"));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      await body(dir);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Pids of etcd processes whose command line mentions `marker`. */
  async function etcdPidsMentioning(marker: string): Promise<number[]> {
    const { stdout } = await run("ps", ["-eo", "pid=,stat=,args="]).catch(() => ({ stdout: "" }));
    return stdout
      .split("\n")
      .filter((l) => l.includes(marker) && l.includes("--data-dir") && !/^\s*\d+\s+Z/.test(l))
      .map((l) => Number.parseInt(l, 10));
  }

  it("a start that fails half-way (members not ready in time) kills every member and removes the dir", async () => {
    await inOwnTmpdir(async (dir) => {
      const err = await startEtcd({ members: 3, readyTimeoutMs: 1 }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/not ready after 1 ms/);
      expect(await etcdPidsMentioning(dir)).toEqual([]);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it("a start where etcd exits at once (bad flag) cleans up the same way", async () => {
    await inOwnTmpdir(async (dir) => {
      const err = await startEtcd({ members: 2, args: ["--no-such-flag"] }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/exited/);
      expect(await etcdPidsMentioning(dir)).toEqual([]);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  /** Starts test/support/abandon-etcd.ts in a child Node and returns it with what it printed. */
  async function abandon(mode: "exit" | "hang", env: NodeJS.ProcessEnv = process.env) {
    const child = spawn(
      process.execPath,
      [compiled(join(import.meta.dirname, "../support/abandon-etcd.ts")), mode],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env,
      },
    );
    const lines = createInterface({ input: child.stdout! });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`abandon-etcd exited with ${code} before printing`)));
    });
    const info = JSON.parse(first) as { pid: number; root: string };
    return { child, ...info };
  }

  it("a process that exits without close() takes its etcd and temp dir with it (exit hook)", async () => {
    // Guards off: only the exit hook can clean up here.
    const { child, pid, root } = await abandon("exit", { ...process.env, ETCD_TS_CLEANUP_GUARD: "0" });
    try {
      expect(pid).toBeGreaterThan(0);
      await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(undefined)));
      expect(await eventually(() => !pidAlive(pid), 15_000)).toBe(true);
      expect(await eventually(() => !existsSync(root), 15_000)).toBe(true);
    } finally {
      child.kill("SIGKILL");
      if (pidAlive(pid)) process.kill(pid, "SIGKILL");
    }
  });

  it("a process SIGKILLed without close() still leaves no etcd behind (pipe guard)", async () => {
    const { child, pid, root } = await abandon("hang");
    try {
      expect(pidAlive(pid)).toBe(true);
      child.kill("SIGKILL");
      expect(await eventually(() => !pidAlive(pid), 15_000)).toBe(true);
      expect(await eventually(() => !existsSync(root), 15_000)).toBe(true);
    } finally {
      child.kill("SIGKILL");
      if (pidAlive(pid)) process.kill(pid, "SIGKILL");
    }
  });
});

describe("Docker runtime", () => {
  it.skipIf(dockerAvailable)(
    'runtime "docker" without an engine fails naming the three ways (runs only where no Docker engine answers)',
    async () => {
      const err = await startEtcd({ runtime: "docker" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EtcdUnavailableError);
      expect((err as Error).message).toMatch(/no Docker engine answered.*ETCD_BIN/s);
    },
  );

  if (!dockerAvailable) {
    console.info("etcd-ts testing kit: Docker test skipped: no Docker engine answers on this machine.");
  }
  it.skipIf(!dockerAvailable)(
    "runs etcd in a container (skipped when no Docker engine answers)",
    { timeout: 180_000 },
    async () => {
      const etcd = await startEtcd({ runtime: "docker" });
      try {
        expect(etcd).toBeInstanceOf(EtcdContainer);
        const container = etcd as EtcdContainer;
        expect(container.endpoints).toEqual([container.endpoint]);
        const status = await container.status();
        expect(status.version).toMatch(/^3\.5\./);
        await gatewayPut(container.endpoint, "in-docker", "yes");
        expect(await gatewayGet(container.endpoint, "in-docker")).toBe("yes");
      } finally {
        await etcd.close();
      }
      await expect(
        gatewayRequest(etcd.endpoint, "/v3/maintenance/status", {}, { timeoutMs: 3_000 }),
      ).rejects.toBeInstanceOf(EtcdGatewayError);
    },
  );
});

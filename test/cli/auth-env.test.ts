import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Etcd } from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import type { Child } from "../support/child.js";
import { enableAuth } from "../support/etcdctl.js";
import { hasAuthHardening } from "../support/server-version.js";
import { cliJson, cliOk, runCli, startCli, stderrOf } from "./support.js";

const ROOT_PASSWORD = "root-Secret-1";
const ALICE_PASSWORD = "alice-Secret-2";

let cluster: EtcdCluster;
let child: Child | undefined;

beforeAll(async () => {
  cluster = await startEtcd();
  await enableAuth(cluster.endpoint, {
    rootPassword: ROOT_PASSWORD,
    role: {
      name: "app",
      grants: [["readwrite", "app/"]],
      users: [{ username: "alice", password: ALICE_PASSWORD }],
    },
  });
});

afterEach(async () => {
  await child?.kill();
  child = undefined;
});

afterAll(async () => {
  await cluster?.close();
});

describe("etcd-ts with auth", { timeout: 120_000 }, () => {
  it("--user name:password, and --user with --password", async () => {
    const ep = ["--endpoints", cluster.endpoint];
    expect(await cliOk([...ep, "--user", `root:${ROOT_PASSWORD}`, "put", "app/a", "1"])).toBe("OK\n");
    expect(await cliOk([...ep, "get", "app/a", "--user", "alice", "--password", ALICE_PASSWORD])).toBe(
      "app/a\n1\n",
    );
  });

  it("refuses a missing or wrong password, or a key outside the role, in one line that shows no secret", async () => {
    const ep = ["--endpoints", cluster.endpoint];
    const anonymous = await runCli([...ep, "get", "app/a"]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^etcd-ts: etcdserver: user name is empty/);
    const wrong = await runCli([...ep, "get", "app/a", "--user", "alice:Wrong-Secret-3"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^etcd-ts: etcdserver: authentication failed, invalid user ID or password/);
    const denied = await runCli([...ep, "get", "other/a", "--user", `alice:${ALICE_PASSWORD}`]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^etcd-ts: etcdserver: permission denied/);
    for (const r of [anonymous, wrong, denied]) {
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr + r.stdout).not.toMatch(/Secret/);
    }
  });

  it('a watch outside the role fails with the permission error alone, no "connection lost" before it', async () => {
    const ep = ["--endpoints", cluster.endpoint];
    const denied = await runCli([...ep, "watch", "other/", "--prefix", "--user", `alice:${ALICE_PASSWORD}`]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).not.toMatch(/connection lost|resum/);
    expect(denied.stderr).toMatch(/permission denied/);
    expect(denied.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("endpoint status and health --cluster and member list work for a plain user; its member add is refused naming the call", async () => {
    const alice = ["--endpoints", cluster.endpoint, "--user", `alice:${ALICE_PASSWORD}`];
    const [status] = await cliJson<{ endpoint: string; status?: { version: string }; error?: string }[]>([
      ...alice,
      "endpoint",
      "status",
      "--cluster",
    ]);
    expect(status).toMatchObject({ endpoint: cluster.endpoint, status: { version: expect.any(String) } });
    const health = await cliJson<{ health: boolean }[]>([...alice, "endpoint", "health", "--cluster"]);
    expect(health).toMatchObject([{ endpoint: cluster.endpoint, health: true }]);
    expect(await cliJson<unknown[]>([...alice, "member", "list"])).toHaveLength(1);
    const add = await runCli([...alice, "member", "add", "m9", "--peer-urls", "http://127.0.0.1:1"]);
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(
      /^etcd-ts: etcdserver: permission denied \(Cluster\/MemberAdd needs the root role\) \[http:/,
    );
    // Without credentials: Status needs a user from 3.4.42/3.5.28/3.6.9 (CVE-2026-33413).
    const anonymous = await runCli(["--endpoints", cluster.endpoint, "endpoint", "status", "--json"]);
    if (hasAuthHardening(status!.status!.version)) {
      expect(anonymous.code).toBe(1);
      expect(JSON.parse(anonymous.stdout)).toEqual([
        { endpoint: cluster.endpoint, error: "etcdserver: user name is empty" },
      ]);
    } else expect(anonymous.code).toBe(0);
  });

  it("reads ETCDCTL_ENDPOINTS, ETCDCTL_USER, ETCDCTL_PASSWORD and the timeouts from the environment", async () => {
    const env = {
      ETCDCTL_ENDPOINTS: cluster.endpoint,
      ETCDCTL_USER: "alice",
      ETCDCTL_PASSWORD: ALICE_PASSWORD,
      ETCDCTL_DIAL_TIMEOUT: "3s",
      ETCDCTL_COMMAND_TIMEOUT: "7s",
    };
    expect(await cliOk(["put", "app/env", "from-env"], { env })).toBe("OK\n");
    expect(
      await cliOk(["get", "app/env"], {
        env: { ...env, ETCDCTL_USER: `alice:${ALICE_PASSWORD}`, ETCDCTL_PASSWORD: "" },
      }),
    ).toBe("app/env\nfrom-env\n");
    const bad = await runCli(["get", "app/env"], { env: { ...env, ETCDCTL_COMMAND_TIMEOUT: "7" } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^etcd-ts: ETCDCTL_COMMAND_TIMEOUT: "7" is not a duration/);
  });

  it("flags win over the variables", async () => {
    const env = { ETCDCTL_ENDPOINTS: "127.0.0.1:1", ETCDCTL_USER: "alice:Wrong-Secret-4" };
    const flags = ["--endpoints", cluster.endpoint, "--user", `alice:${ALICE_PASSWORD}`];
    expect(await cliOk([...flags, "get", "app/env"], { env })).toBe("app/env\nfrom-env\n");
    const onlyPassword = await runCli(
      ["--endpoints", cluster.endpoint, "--password", ALICE_PASSWORD, "get", "app/env"],
      {
        env: { ETCDCTL_USER: "alice:Wrong-Secret-5" },
      },
    );
    expect(onlyPassword).toMatchObject({ code: 0, stdout: "app/env\nfrom-env\n" });
  });

  it("watch with --user follows the prefix it may read and ends with 0 on SIGINT", async () => {
    const c = startCli([
      "--endpoints",
      cluster.endpoint,
      "--user",
      `alice:${ALICE_PASSWORD}`,
      "watch",
      "app/",
      "--prefix",
    ]);
    child = c;
    const etcd = new Etcd({
      endpoints: cluster.endpoints,
      auth: { username: "alice", password: ALICE_PASSWORD },
    });
    try {
      await c.until("the watch to print a put", async () => {
        await etcd.put("app/watched", "x");
        return c.lines.includes("app/watched");
      });
    } finally {
      await etcd.close();
    }
    c.signal("SIGINT");
    expect(await c.waitForExit("the watch to end after SIGINT")).toEqual({ code: 0, signal: null });
    expect(stderrOf(c)).toBe("");
  });
});

describe("etcd-ts over TLS", { timeout: 120_000 }, () => {
  let tlsCluster: EtcdCluster;

  beforeAll(async () => {
    tlsCluster = await startEtcd({ tls: { clientCertAuth: true } });
  });

  afterAll(async () => {
    await tlsCluster?.close();
  });

  it("ETCDCTL_CACERT, ETCDCTL_CERT and ETCDCTL_KEY (bare endpoints become https); without the client certificate it fails", async () => {
    const tls = tlsCluster.tls!;
    const hostPort = tlsCluster.endpoint.replace("https://", "");
    const env = {
      ETCDCTL_ENDPOINTS: hostPort,
      ETCDCTL_CACERT: tls.caFile,
      ETCDCTL_CERT: tls.clientCertFile,
      ETCDCTL_KEY: tls.clientKeyFile,
    };
    expect(await cliOk(["put", "tls/a", "1"], { env })).toBe("OK\n");
    const status = await cliOk(["endpoint", "status", "--json"], { env });
    expect((JSON.parse(status) as { endpoint: string }[])[0]!.endpoint).toBe(tlsCluster.endpoint);
    const flags = await cliOk([
      "get",
      "tls/a",
      "--cacert",
      tls.caFile,
      "--cert",
      tls.clientCertFile,
      "--key",
      tls.clientKeyFile,
      "--endpoints",
      hostPort,
    ]);
    expect(flags).toBe("tls/a\n1\n");
    const noCert = await runCli(["get", "tls/a", "--dial-timeout", "3s"], {
      env: { ETCDCTL_ENDPOINTS: hostPort, ETCDCTL_CACERT: tls.caFile },
    });
    expect(noCert.code).toBe(1);
    expect(noCert.stderr.trim().split("\n")).toHaveLength(1);
  });
});

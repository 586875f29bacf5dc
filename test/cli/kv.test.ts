import { describe, expect, it } from "vitest";
import { cliJson, cliOk, runCli, useEtcd } from "./support.js";

const bed = useEtcd();

interface KvJson {
  key: string;
  value: string;
  modRevision: string;
  lease: string;
}

// Each command is a process of its own (~1 s on a busy machine): the deadlines only catch hangs.
describe("etcd-ts put / get / del", { timeout: 120_000 }, () => {
  it("puts a key (value as an argument, from stdin, and after --) and gets it back", async () => {
    expect(await cliOk([...bed.ep, "put", "kv/a", "1"])).toBe("OK\n");
    expect(await cliOk([...bed.ep, "put", "kv/b"], { input: "two\nlines" })).toBe("OK\n");
    expect(await cliOk([...bed.ep, "put", "kv/c", "--", "-x"])).toBe("OK\n");
    expect((await bed.etcd.get("kv/b"))?.text()).toBe("two\nlines");
    expect(await cliOk([...bed.ep, "get", "kv/a"])).toBe("kv/a\n1\n");
    expect(await cliOk([...bed.ep, "get", "kv/", "--prefix"])).toBe("kv/a\n1\nkv/b\ntwo\nlines\nkv/c\n-x\n");
    expect(await cliOk([...bed.ep, "get", "nothing/here"])).toBe("");
  });

  it("reads ranges: --prefix --keys-only, --from-key --limit, [range_end], --count-only, --rev", async () => {
    expect(await cliOk([...bed.ep, "get", "kv/", "--prefix", "--keys-only"])).toBe("kv/a\nkv/b\nkv/c\n");
    expect(await cliOk([...bed.ep, "get", "kv/b", "--from-key", "--keys-only", "--limit", "1"])).toBe(
      "kv/b\n",
    );
    expect(await cliOk([...bed.ep, "get", "kv/a", "kv/c", "--keys-only"])).toBe("kv/a\nkv/b\n");
    expect(await cliOk([...bed.ep, "get", "kv/", "--prefix", "--count-only"])).toBe("3\n");
    const before = (await bed.etcd.put("kv/a", "old")).revision;
    await bed.etcd.put("kv/a", "new");
    expect(await cliOk([...bed.ep, "get", "kv/a", "--rev", String(before)])).toBe("kv/a\nold\n");
    expect(await cliOk([...bed.ep, "get", "kv/a"])).toBe("kv/a\nnew\n");
  });

  it("--json: revisions and counts as strings, the same KeyValue shape as the library", async () => {
    const got = await cliJson<{ revision: string; count: string; more: boolean; kvs: KvJson[] }>([
      ...bed.ep,
      "get",
      "kv/",
      "--prefix",
      "--limit",
      "2",
    ]);
    const expected = await bed.etcd.range({ prefix: "kv/" }, { limit: 2 });
    expect(got).toEqual(
      JSON.parse(
        JSON.stringify({ ...expected, revision: String(expected.revision), count: String(expected.count) }),
      ),
    );
    expect(got.more).toBe(true);
    expect(got.kvs.map((kv) => kv.key)).toEqual(["kv/a", "kv/b"]);
    const put = await cliJson<{ revision: string; prevKv: KvJson | null }>([
      ...bed.ep,
      "put",
      "kv/a",
      "newer",
      "--prev-kv",
    ]);
    expect(put.prevKv?.value).toBe("new");
    expect(BigInt(put.revision)).toBe((await bed.etcd.get("kv/a"))!.modRevision);
  });

  it("put --lease attaches the key to a lease given in hex, as etcdctl prints it", async () => {
    const lease = await bed.etcd.lease.grant(60, { keepAlive: false });
    await cliOk([...bed.ep, "put", "kv/leased", "x", "--lease", lease.id.toString(16)]);
    expect((await bed.etcd.get("kv/leased"))?.lease).toBe(lease.id);
    await bed.etcd.lease.revoke(lease.id);
  });

  it("deletes a key, a prefix with --prev-kv, and prints the count", async () => {
    expect(await cliOk([...bed.ep, "del", "kv/leased"])).toBe("0\n");
    expect(await cliOk([...bed.ep, "del", "kv/c"])).toBe("1\n");
    const deleted = await cliJson<{ deleted: string; prevKvs: KvJson[] }>([
      ...bed.ep,
      "del",
      "kv/",
      "--prefix",
      "--prev-kv",
    ]);
    expect(deleted.deleted).toBe("2");
    expect(deleted.prevKvs.map((kv) => kv.key)).toEqual(["kv/a", "kv/b"]);
    expect((await bed.etcd.range({ prefix: "kv/" })).count).toBe(0n);
  });
});

describe("etcd-ts errors", { timeout: 120_000 }, () => {
  it("a wrong command line exits with 2 and one line that names the problem (more cases in src/cli/cli.spec.ts)", async () => {
    const cases: [string[], RegExp][] = [
      [["get"], /get: expected <key> \[range_end\], got 0 argument/],
      [["get", "k", "--nope"], /Unknown option '--nope'/],
      [["get", "k", "--endpoints", "ftp://x"], /endpoints: unsupported scheme/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli([...bed.ep, ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).toBe("");
    }
  });

  it("an etcd error exits with 1 and one line, no stack trace", async () => {
    const future = (await bed.etcd.put("kv/now", "x")).revision + 1000n;
    const r = await runCli([...bed.ep, "get", "kv/now", "--rev", String(future)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `etcd-ts: etcdserver: mvcc: required revision is a future revision [${bed.cluster.endpoint}]\n`,
    );
  });

  it("an endpoint that refuses connections exits with 1 and one line", async () => {
    const r = await runCli(["--endpoints", "127.0.0.1:1", "get", "k"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^etcd-ts: could not connect to http:\/\/127\.0\.0\.1:1/);
  });

  it("--help of the tool and of a command (exit 0, on stdout); no command at all is a usage error", async () => {
    const tool = await runCli(["--help"]);
    expect(tool.code).toBe(0);
    expect(tool.stdout).toContain("Usage: etcd-ts <command>");
    expect(tool.stdout).toContain("lease keep-alive");
    const get = await runCli(["get", "--help"]);
    expect(get.code).toBe(0);
    expect(get.stdout).toContain("Usage: etcd-ts get <key> [range_end] [options]");
    expect(get.stdout).toContain("--keys-only");
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage: etcd-ts <command>");
  });
});

import { beforeAll, describe, expect, it } from "vitest";
import { type Etcd, op } from "../../src/client/index.js";
import { useEtcd as useEtcdFixture } from "../support/etcd-fixture.js";
import { runCli, useEtcd } from "./support.js";

/** The keys under `prefix` as a map of texts, the prefix replaced by `as`. */
async function keysOf(etcd: Etcd, prefix: string, as = prefix): Promise<Map<string, string>> {
  const res = await etcd.range({ prefix });
  return new Map(res.kvs.map((kv) => [as + kv.keyText().slice(prefix.length), kv.text()]));
}

describe("etcd-ts make-mirror", { timeout: 60_000 }, () => {
  // The source, and a destination with mTLS and auth on: a writer that may write under backup/ only.
  const source = useEtcd();
  const target = useEtcdFixture({ start: { tls: { clientCertAuth: true } } });
  let dest: Etcd;
  let destUrl: string;
  /** The destination's TLS flags and a user: `--dest-user <user>` plus the --dest-* TLS files. */
  let destFlags: (user: string) => string[];
  beforeAll(async () => {
    destUrl = target.cluster.endpoint;
    const certs = target.cluster.tls!;
    const tls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
    destFlags = (user) => [
      "--dest-user",
      user,
      "--dest-cacert",
      certs.caFile,
      "--dest-cert",
      certs.clientCertFile,
      "--dest-key",
      certs.clientKeyFile,
    ];
    const admin = target.client({ tls });
    await admin.auth.users.add("root", "rootpw");
    await admin.auth.users.grantRole("root", "root");
    await admin.auth.roles.add("backup-writer");
    await admin.auth.roles.grantPermission("backup-writer", { prefix: "backup/", type: "readwrite" });
    await admin.auth.users.add("writer", "pw");
    await admin.auth.users.grantRole("writer", "backup-writer");
    await admin.auth.enable();
    dest = target.client({ tls, auth: { username: "root", password: "rootpw" } });
  });

  it("copies the prefix, then every change, under --dest-prefix as a --dest-user; SIGINT ends it with 0 and the count", async () => {
    const etcd = source.etcd;
    for (let i = 0; i < 7; i++) await etcd.put(`app/k${i}`, `v${i}`);
    await etcd.put("apps", "outside the prefix");
    const child = source.start([
      "make-mirror",
      "--prefix",
      "app/",
      "--dest-prefix",
      "backup/app/",
      ...destFlags("writer:pw"),
      "--max-txn-ops",
      "2",
      destUrl,
    ]);
    const copied = async (what: string) => {
      const want = await keysOf(etcd, "app/", "backup/app/");
      await child.until(what, async () => {
        const got = await keysOf(dest, "backup/");
        return got.size === want.size && [...want].every(([k, v]) => got.get(k) === v);
      });
    };
    await copied("the prefix at the destination");
    // A txn of three changes (over --max-txn-ops 2), a delete of five keys, one put.
    await etcd.txn().onSuccess(op.put("app/t1", "a"), op.put("app/t2", "b"), op.delete("app/k0")).commit();
    await etcd.delete({ key: "app/k1", end: "app/k6" });
    await etcd.put("app/k6", "changed");
    await etcd.put("apps2", "outside again");
    await copied("the changes at the destination");
    expect((await dest.range({ prefix: "" })).kvs.map((kv) => kv.keyText())).toEqual([
      "backup/app/k6",
      "backup/app/t1",
      "backup/app/t2",
    ]);
    child.signal("SIGINT");
    expect(await child.waitForExit("make-mirror to end after SIGINT")).toEqual({ code: 0, signal: null });
    // etcdctl's count: 7 keys copied, then 3 + 5 + 1 changes.
    expect(child.lines.at(-1)).toBe("16");
  });

  it("keeps the source's prefix by default, and drops it with --no-dest-prefix", async () => {
    const etcd = source.etcd;
    await etcd.put("same/a", "1");
    await etcd.put("flat/b", "2");
    const same = source.start(["make-mirror", "--prefix", "same/", ...destFlags("root:rootpw"), destUrl]);
    await same.until("same/a at the destination", async () => (await dest.get("same/a"))?.text() === "1");
    same.signal("SIGTERM");
    expect(await same.waitForExit("the first make-mirror")).toEqual({ code: 0, signal: null });
    const flat = source.start([
      "make-mirror",
      "--prefix",
      "flat/",
      "--no-dest-prefix",
      ...destFlags("root"),
      "--dest-password",
      "rootpw",
      destUrl,
    ]);
    await flat.until("b at the destination root", async () => (await dest.get("b"))?.text() === "2");
    flat.signal("SIGINT");
    expect(await flat.waitForExit("the second make-mirror")).toEqual({ code: 0, signal: null });
    expect(await dest.get("flat/b")).toBeUndefined();
  });

  it("exits with 1 where the changes were compacted (as etcdctl) or the destination refuses a write", async () => {
    const etcd = source.etcd;
    const first = await etcd.put("old/a", "1");
    const now = await etcd.put("old/a", "2");
    await etcd.compact(now.revision);
    const compacted = await runCli([
      ...source.ep,
      "make-mirror",
      "--prefix",
      "old/",
      "--rev",
      String(first.revision),
      ...destFlags("root:rootpw"),
      destUrl,
    ]);
    expect(compacted.code).toBe(1);
    expect(compacted.stderr).toMatch(/compacted/);

    const refused = await runCli([
      ...source.ep,
      "make-mirror",
      "--prefix",
      "old/",
      ...destFlags("writer:pw"),
      destUrl,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/permission denied/i);
    expect(await dest.get("old/a")).toBeUndefined();
  });

  it("refuses --dest-prefix with --no-dest-prefix, and bad numbers, before anything is sent", async () => {
    const both = await runCli([
      "--endpoints",
      "http://127.0.0.1:1",
      "make-mirror",
      "--dest-prefix",
      "x/",
      "--no-dest-prefix",
      "http://127.0.0.1:1",
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--dest-prefix and --no-dest-prefix cannot be set at the same time/);
    const rev = await runCli(["make-mirror", "--rev", "0", "http://127.0.0.1:1"]);
    expect(rev.code).toBe(2);
    expect(rev.stderr).toMatch(/--rev/);
    const none = await runCli(["make-mirror"]);
    expect(none.code).toBe(2);
    const noPassword = await runCli(["make-mirror", "--dest-user", "writer", "http://127.0.0.1:1"]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toMatch(/--dest-user/);
  });
});

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConnectionInput, resolveConnection } from "./connection.js";
import { UsageError } from "./usage-error.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "etcd-ts-cli-"));
  await writeFile(join(dir, "ca.pem"), "CA");
  await writeFile(join(dir, "cert.pem"), "CERT");
  await writeFile(join(dir, "key.pem"), "KEY");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function input(
  strings: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
  insecure = false,
): ConnectionInput {
  return { strings, env, insecureSkipTlsVerify: insecure };
}

describe("resolveConnection", () => {
  it("defaults to etcdctl's: 127.0.0.1:2379 over http, dial 2 s, command 5 s, no auth", async () => {
    const { options, commandTimeoutGiven } = await resolveConnection(input({}));
    expect(options).toEqual({
      endpoints: ["http://127.0.0.1:2379"],
      connectTimeoutMs: 2_000,
      timeoutMs: 5_000,
    });
    expect(commandTimeoutGiven).toBe(false);
  });

  it("reads every ETCDCTL_* variable, and flags win over them", async () => {
    const env = {
      ETCDCTL_ENDPOINTS: "10.0.0.1:2379,10.0.0.2:2379",
      ETCDCTL_USER: "alice:secret",
      ETCDCTL_DIAL_TIMEOUT: "3s",
      ETCDCTL_COMMAND_TIMEOUT: "1m",
      ETCDCTL_CACERT: join(dir, "ca.pem"),
      ETCDCTL_CERT: join(dir, "cert.pem"),
      ETCDCTL_KEY: join(dir, "key.pem"),
    };
    const fromEnv = await resolveConnection(input({}, env));
    expect(fromEnv.options).toEqual({
      endpoints: ["https://10.0.0.1:2379", "https://10.0.0.2:2379"],
      auth: { username: "alice", password: "secret" },
      tls: { ca: Buffer.from("CA"), cert: Buffer.from("CERT"), key: Buffer.from("KEY") },
      connectTimeoutMs: 3_000,
      timeoutMs: 60_000,
    });
    expect(fromEnv.commandTimeoutGiven).toBe(true);
    const flags = await resolveConnection(
      input({ endpoints: "https://h:1", user: "bob", password: "pw", "dial-timeout": "100ms" }, env),
    );
    expect(flags.options).toMatchObject({
      endpoints: ["https://h:1"],
      auth: { username: "bob", password: "pw" },
      connectTimeoutMs: 100,
      timeoutMs: 60_000,
    });
  });

  it("takes the password from --password or ETCDCTL_PASSWORD beside a bare user name", async () => {
    const viaEnv = await resolveConnection(input({ user: "root" }, { ETCDCTL_PASSWORD: "p:w" }));
    expect(viaEnv.options.auth).toEqual({ username: "root", password: "p:w" });
    // A password inside --user beats ETCDCTL_PASSWORD (a flag over a variable)...
    const inFlag = await resolveConnection(input({ user: "root:flag" }, { ETCDCTL_PASSWORD: "env" }));
    expect(inFlag.options.auth).toEqual({ username: "root", password: "flag" });
    // ... and --password beats one inside ETCDCTL_USER.
    const overEnv = await resolveConnection(input({ password: "flag" }, { ETCDCTL_USER: "root:env" }));
    expect(overEnv.options.auth).toEqual({ username: "root", password: "flag" });
  });

  it("refuses what cannot work, naming the flag or variable and never the password", async () => {
    const cases: [ConnectionInput, RegExp][] = [
      [input({ user: "root" }), /^--user: no password for user "root"/],
      [input({}, { ETCDCTL_USER: ":secret" }), /^ETCDCTL_USER: the user name is empty$/],
      [input({ password: "secret" }), /^--password needs --user$/],
      [input({ cacert: join(dir, "missing.pem") }), /^--cacert: cannot read .*missing\.pem \(ENOENT\)$/],
      [input({ cert: join(dir, "cert.pem") }), /^--cert and --key go together/],
      [input({ endpoints: " , " }), /^--endpoints: no endpoint given$/],
      [input({}, { ETCDCTL_COMMAND_TIMEOUT: "10" }), /^ETCDCTL_COMMAND_TIMEOUT: "10" is not a duration/],
    ];
    for (const [given, message] of cases) {
      const err = await resolveConnection(given).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain("secret");
    }
  });

  it("--insecure-skip-tls-verify alone makes bare endpoints https without checking the certificate", async () => {
    const { options } = await resolveConnection(input({ endpoints: "h:2379" }, {}, true));
    expect(options.endpoints).toEqual(["https://h:2379"]);
    expect(options.tls).toEqual({ rejectUnauthorized: false });
    const fromEnv = await resolveConnection(input({}, { ETCDCTL_INSECURE_SKIP_TLS_VERIFY: "true" }));
    expect(fromEnv.options.tls).toEqual({ rejectUnauthorized: false });
  });
});

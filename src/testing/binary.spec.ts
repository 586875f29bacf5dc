import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdUnavailableError, findEtcdBinary, resolveEtcdBinary } from "./binary.js";

describe("findEtcdBinary", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "etcd-ts-binary-"));
    await writeFile(join(dir, "etcd"), "#!/bin/sh\n", { mode: 0o755 });
    await writeFile(join(dir, "plain"), "", { mode: 0o644 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prefers ETCD_BIN, then searches PATH in order, else undefined", () => {
    expect(findEtcdBinary({ ETCD_BIN: join(dir, "etcd"), PATH: "/nonexistent" })).toBe(join(dir, "etcd"));
    expect(findEtcdBinary({ PATH: `/nonexistent:${dir}` })).toBe(join(dir, "etcd"));
    expect(findEtcdBinary({ PATH: "/nonexistent" })).toBeUndefined();
    expect(findEtcdBinary({})).toBeUndefined();
  });

  it("rejects an ETCD_BIN or explicit binary that is not an executable file", () => {
    expect(() => findEtcdBinary({ ETCD_BIN: join(dir, "plain") })).toThrow(EtcdUnavailableError);
    expect(() => findEtcdBinary({ ETCD_BIN: dir })).toThrow(EtcdUnavailableError);
    expect(() => resolveEtcdBinary(join(dir, "missing"), {})).toThrow(
      /missing.*ETCD_BIN.*etcd-server.*Docker/s,
    );
    expect(resolveEtcdBinary(join(dir, "etcd"), {})).toBe(join(dir, "etcd"));
  });
});

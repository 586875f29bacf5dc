import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EtcdUnavailableError,
  findEtcdBinary,
  findEtcdVersion,
  findFailpointBuild,
  resolveEtcdBinary,
} from "./binary.js";
import { ETCD_VERSIONS, etcdCacheDir, isEtcdVersionLine } from "./versions.js";

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

describe("pinned versions (ETCD_VERSION, startEtcd({ version }))", () => {
  let cache: string;
  let bin: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), "etcd-ts-cache-"));
    bin = join(cache, "bin-etcd");
    await writeFile(bin, "#!/bin/sh\n", { mode: 0o755 });
    await mkdir(join(cache, "etcd", ETCD_VERSIONS["3.5"]), { recursive: true });
    await writeFile(join(cache, "etcd", ETCD_VERSIONS["3.5"], "etcd"), "#!/bin/sh\n", { mode: 0o755 });
  });
  afterAll(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it("finds an installed line in the cache, and names the cache when a line is missing or unknown", () => {
    const env = { ETCD_TS_CACHE: cache };
    expect(findEtcdVersion("3.5", env)).toBe(join(cache, "etcd", ETCD_VERSIONS["3.5"], "etcd"));
    expect(() => findEtcdVersion("3.7", env)).toThrow(EtcdUnavailableError);
    expect(() => findEtcdVersion("3.7", env)).toThrow(new RegExp(`${ETCD_VERSIONS["3.7"]}.*${cache}`));
    expect(() => findEtcdVersion("3.9", env)).toThrow(
      /"3\.9" is not one of the pinned lines 3\.4, 3\.5, 3\.6, 3\.7/,
    );
  });

  it("resolves binary, then version, then ETCD_BIN, then ETCD_VERSION, then PATH", () => {
    const cached = join(cache, "etcd", ETCD_VERSIONS["3.5"], "etcd");
    const env = { ETCD_TS_CACHE: cache, ETCD_BIN: bin, ETCD_VERSION: "3.5", PATH: "/nonexistent" };
    expect(resolveEtcdBinary(bin, env, "3.5")).toBe(bin);
    expect(resolveEtcdBinary(undefined, env, "3.5")).toBe(cached);
    expect(resolveEtcdBinary(undefined, env)).toBe(bin);
    expect(resolveEtcdBinary(undefined, { ...env, ETCD_BIN: undefined })).toBe(cached);
    expect(resolveEtcdBinary(undefined, { PATH: "/nonexistent" })).toBeUndefined();
  });

  it("the cache folder: ETCD_TS_CACHE, else XDG_CACHE_HOME/etcd-ts, else ~/.cache/etcd-ts", () => {
    expect(etcdCacheDir({ ETCD_TS_CACHE: "/c", XDG_CACHE_HOME: "/x" })).toBe("/c");
    expect(etcdCacheDir({ XDG_CACHE_HOME: "/x" })).toBe(join("/x", "etcd-ts"));
    expect(etcdCacheDir({})).toBe(join(homedir(), ".cache", "etcd-ts"));
    expect(isEtcdVersionLine("3.6")).toBe(true);
    expect(isEtcdVersionLine("toString")).toBe(false);
  });
});

describe("failpoint builds", () => {
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), "etcd-ts-cache-"));
    await mkdir(join(cache, "etcd", "3.6.17-failpoints"), { recursive: true });
    await writeFile(join(cache, "etcd", "3.6.17-failpoints", "etcd"), "#!/bin/sh\n", { mode: 0o755 });
  });
  afterAll(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it("takes the failpoint build of version, else ETCD_VERSION, else the default line; never ETCD_BIN", () => {
    const build = join(cache, "etcd", "3.6.17-failpoints", "etcd");
    expect(resolveEtcdBinary(undefined, { ETCD_TS_CACHE: cache }, "3.6", true)).toBe(build);
    expect(resolveEtcdBinary(undefined, { ETCD_TS_CACHE: cache, ETCD_VERSION: "3.6" }, undefined, true)).toBe(
      build,
    );
    expect(resolveEtcdBinary(undefined, { ETCD_TS_CACHE: cache, ETCD_BIN: "/bin/sh" }, undefined, true)).toBe(
      build,
    );
  });

  it("names the script to run when the build is missing, and refuses 3.4 and unknown lines", () => {
    expect(() => findFailpointBuild("3.7", { ETCD_TS_CACHE: cache })).toThrow(
      /3\.7\.\d+ with failpoints.*scripts\/etcd-failpoints\.sh 3\.7/,
    );
    expect(() => findFailpointBuild("3.4", { ETCD_TS_CACHE: cache })).toThrow(EtcdUnavailableError);
    expect(() => findFailpointBuild("2.3", { ETCD_TS_CACHE: cache })).toThrow(/no failpoint build/);
  });
});

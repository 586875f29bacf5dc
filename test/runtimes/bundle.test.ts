import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { Child } from "../support/child.js";
import { findRuntimes, REQUIRE_RUNTIMES, RUNTIME_ENV, type Runtime } from "./runtimes.js";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const APPS = fileURLToPath(new URL("./bundle/", import.meta.url));
const ESBUILD = join(REPO, "node_modules", ".bin", "esbuild");

/**
 * The esbuild commands of docs/bundling.md, as a user runs them in their project (`npx esbuild ...`), and
 * what each bundle does on each runtime.
 */
const BUNDLES = {
  /** The default transport: node:net/node:tls and web-standard APIs, every dependency bundled. */
  default: ["app.ts", "--bundle", "--platform=node", "--format=esm", "--outfile=out/app.mjs"],
  /** grpc-js is CommonJS that requires Node built-ins: left to the runtime's own loader. */
  "grpc-js external": [
    "app-grpc-js.ts",
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--external:@grpc/grpc-js",
    "--outfile=out/grpc-js-external.mjs",
  ],
  /** grpc-js bundled too, with a real `require` for its `require("process")` and friends. */
  "grpc-js with a require banner": [
    "app-grpc-js.ts",
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    "--outfile=out/grpc-js-banner.mjs",
  ],
  /** grpc-js bundled into ESM as is: esbuild's `require` shim throws on Node and Deno. */
  "grpc-js bundled as is": [
    "app-grpc-js.ts",
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--outfile=out/grpc-js-bundled.mjs",
  ],
} as const;
type BundleName = keyof typeof BUNDLES;

const outfile = (name: BundleName) => BUNDLES[name].at(-1)!.slice("--outfile=".length);

/**
 * A user's project: `node_modules/etcd-ts` holds the repo's package.json (its `exports` map) and a dist/
 * compiled from src now (so the test needs no earlier `npm run build`); the package's own dependencies
 * resolve from the repo's node_modules, as the project lives under test/tmp/.
 */
async function makeProject(): Promise<string> {
  await mkdir(join(REPO, "test", "tmp"), { recursive: true });
  const project = await mkdtemp(join(REPO, "test", "tmp", "bundle-"));
  // A package.json of its own: without one, the project falls in the repo's package scope, and "etcd-ts"
  // resolves to the repo itself (a package's self-reference comes before node_modules) and its dist/.
  await writeFile(
    join(project, "package.json"),
    `${JSON.stringify({ name: "bundle-app", private: true, type: "module" })}\n`,
  );
  const pkg = join(project, "node_modules", "etcd-ts");
  await mkdir(pkg, { recursive: true });
  await copyFile(join(REPO, "package.json"), join(pkg, "package.json"));
  await run(
    process.execPath,
    [
      join(REPO, "node_modules", "typescript", "bin", "tsc"),
      ...["-p", join(REPO, "tsconfig.build.json"), "--outDir", join(pkg, "dist")],
      ...["--declaration", "false", "--declarationMap", "false", "--sourceMap", "false"],
    ],
    { cwd: REPO, timeout: 120_000 },
  );
  for (const app of ["app.ts", "app-grpc-js.ts", "exercise.ts"])
    await copyFile(join(APPS, app), join(project, app));
  return project;
}

describe("esbuild bundles of etcd-ts on Node, Bun and Deno (docs/bundling.md)", () => {
  let cluster: EtcdCluster;
  let project: string;
  let elsewhere: string;
  const built = new Map<BundleName, string>();

  beforeAll(async () => {
    const [started, dir] = await Promise.all([startEtcd(), makeProject()]);
    cluster = started;
    project = dir;
    // Bundles that need no node_modules run from a directory that has none anywhere above it.
    elsewhere = await mkdtemp(join(tmpdir(), "etcd-ts-bundle-"));
    for (const [name, args] of Object.entries(BUNDLES) as [BundleName, readonly string[]][]) {
      // Every command must build: the failure of the last one comes at run time, not from esbuild.
      await run(ESBUILD, [...args, "--log-level=warning"], { cwd: project, timeout: 60_000 });
      const file = join(project, outfile(name));
      if (name === "grpc-js external") built.set(name, file);
      else {
        built.set(name, join(elsewhere, basename(file)));
        await copyFile(file, built.get(name)!);
      }
    }
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
    if (project) await rm(project, { recursive: true, force: true });
    if (elsewhere) await rm(elsewhere, { recursive: true, force: true });
  });

  /** Runs a bundle on `runtime` against the cluster and waits for it to end. */
  async function runBundle(runtime: Runtime, name: BundleName): Promise<Child> {
    if (!runtime.executable) throw new Error(`${runtime.name} is not installed: ${runtime.missing}`);
    const [command, argv] = runtime.jsCommand(built.get(name)!, [cluster.endpoint]);
    const child = Child.spawn(`${name} bundle under ${runtime.name}`, command, argv, RUNTIME_ENV);
    try {
      await child.waitForExit(`the ${name} bundle ending under ${runtime.name}`, 30_000);
    } finally {
      await child.kill();
    }
    return child;
  }

  const works = { type: "done", value: "hello", watched: "hello" };

  for (const runtime of findRuntimes()) {
    const skip = runtime.executable === undefined && !REQUIRE_RUNTIMES;
    const on = runtime.executable
      ? `${runtime.name} ${runtime.version}`
      : `${runtime.name} (${runtime.missing})`;
    const test = it.skipIf(skip);

    for (const name of ["default", "grpc-js external", "grpc-js with a require banner"] as const) {
      test(`${name}: runs on ${on}`, { concurrent: true }, async () => {
        const child = await runBundle(runtime, name);
        expect(child.exit, child.stderrTail()).toEqual({ code: 0, signal: null });
        expect(child.events).toEqual([works]);
      });
    }

    if (runtime.name === "bun") {
      // Bun gives every ES module a working `require`, so esbuild's shim never throws there.
      test(`grpc-js bundled as is: runs on ${on}`, { concurrent: true }, async () => {
        const child = await runBundle(runtime, "grpc-js bundled as is");
        expect(child.exit, child.stderrTail()).toEqual({ code: 0, signal: null });
        expect(child.events).toEqual([works]);
      });
    } else {
      test(`grpc-js bundled as is: fails on ${on} with 'Dynamic require of "process"'`, {
        concurrent: true,
      }, async () => {
        const child = await runBundle(runtime, "grpc-js bundled as is");
        expect(child.exit?.code).not.toBe(0);
        expect(child.events).toEqual([]);
        expect(child.stderrTail()).toContain('Dynamic require of "process" is not supported');
      });
    }
  }
});

import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleForBrowser, measureApp } from "../../scripts/web-bundle.mjs";
import type * as Web from "../../src/web/index.js";
import { useEtcd } from "../support/etcd-fixture.js";
import { within } from "../support/wait.js";

/**
 * etcd-ts/web bundled as a browser build bundles it (`scripts/web-bundle.mjs`, `npm run check:web`):
 * esbuild, `platform: "browser"`, no externals, minified. The whole entry must bundle without a Node
 * built-in, the check must catch one when it is there, and the bundle itself must work: loaded in Node
 * (which has `fetch`), it reads, writes and watches a real etcd.
 */
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const ENTRY = join(REPO, "src/web/index.ts");
const fixture = useEtcd();
let dir: string;

beforeAll(async () => {
  await mkdir(join(REPO, "test", "tmp"), { recursive: true });
  dir = await mkdtemp(join(REPO, "test", "tmp", "web-bundle-"));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the browser bundle of etcd-ts/web", () => {
  it("bundles for the browser with no Node built-in anywhere on its path", async () => {
    const result = await bundleForBrowser(ENTRY);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain("src/web/index.ts");
    expect(inputs.filter((file) => file.startsWith("node:"))).toEqual([]);
  }, 60_000);

  it("fails on a node: import and names how the entry reaches it", async () => {
    // An entry that reaches node:events two files down, as a stray import in the client would.
    await writeFile(
      join(dir, "leaf.ts"),
      'import { EventEmitter } from "node:events";\nexport const e = new EventEmitter();\n',
    );
    await writeFile(join(dir, "middle.ts"), 'export { e } from "./leaf.js";\n');
    await writeFile(join(dir, "entry.ts"), 'export { e } from "./middle.js";\n');
    const failure = await bundleForBrowser(join(dir, "entry.ts")).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/entry\.ts -> .*middle\.ts -> .*leaf\.ts -> node:events/);
  }, 60_000);

  it("measures what the documented command builds (docs/bundling.md, docs/web.md), byte for byte", async () => {
    const { minified, gzipped, heaviest } = await measureApp();
    // The user's command, as docs/bundling.md writes it, on the program whose size the docs report.
    const outfile = join(dir, "app.js");
    await promisify(execFile)(
      join(REPO, "node_modules", ".bin", "esbuild"),
      [
        "test/web/size/app.ts",
        ...["--bundle", "--platform=browser", "--format=esm", "--minify", `--outfile=${outfile}`],
        "--log-level=warning",
      ],
      { cwd: REPO, timeout: 60_000 },
    );
    const built = await readFile(outfile);
    expect(built.length).toBe(minified);
    expect(gzipSync(built, { level: 9 }).length).toBe(gzipped);
    expect(heaviest.length).toBeGreaterThan(0);
  }, 60_000);

  it("works when loaded: put, get and a watch event through the bundle, against etcd", async () => {
    const outfile = join(dir, "browser.mjs");
    await bundleForBrowser(ENTRY, { write: true, outfile });
    const web = (await import(pathToFileURL(outfile).href)) as typeof Web;
    await using etcd = new web.Etcd({ endpoints: fixture.cluster.endpoints });
    const { revision } = await etcd.put("bundled", "hello");
    expect((await etcd.get("bundled"))?.text()).toBe("hello");
    await using watcher = etcd.watch("bundled", { startRevision: revision });
    const next = watcher[Symbol.asyncIterator]().next();
    const batch = await within(next, "the watch event through the bundle");
    expect(batch.done).toBe(false);
    const events: readonly Web.WatchEvent[] = batch.done ? [] : batch.value.events;
    expect(events.map((e) => [e.type, e.kv.text()])).toEqual([["put", "hello"]]);
  }, 60_000);
});

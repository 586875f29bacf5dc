import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCommandLine } from "../../src/cli/cli.js";
import { Etcd } from "../../src/client/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import { Child } from "../support/child.js";

/**
 * Every code block of docs/*.md is checked here, as a user would meet it after `npm i etcd-ts`:
 *
 * - `ts` blocks typecheck with `"etcd-ts"` (and its subpaths) resolved to the sources. A block marked
 *   `<!-- docs-test: program -->` or `run` is a whole program and must typecheck alone; any other block is a
 *   fragment, typechecked against {@link PRELUDE} (the names the docs assume: `etcd`, `session`, ...).
 *   Blocks marked `run` are then run against a real etcd (the endpoint `http://127.0.0.1:2379` replaced
 *   by the test's). A marker may name the file (`greeter-server.ts`) for blocks that import each other.
 * - `sh` blocks: every `etcd-ts ...` command line is accepted by the CLI's own parser (command, options,
 *   argument count, output format), `export`s name variables the CLI reads, `npm`/`npx` name this
 *   package, and the esbuild and runtime lines are the ones test/runtimes/bundle.test.ts runs.
 * - `text` blocks are output and diagrams, not code. A block without a language fails.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WORK = join(ROOT, "test", "tmp", "docs");
const run = promisify(execFile);

/** The names a fragment may use without defining them: what the docs' prose says they are. */
const PRELUDE = `// The context the docs' fragments assume (test/docs/docs.test.ts).
declare const etcd: import("etcd-ts").Etcd;
type Etcd = import("etcd-ts").Etcd;
declare const Etcd: typeof import("etcd-ts").Etcd;
declare const Session: typeof import("etcd-ts").Session;
declare const Mutex: typeof import("etcd-ts").Mutex;
declare const Election: typeof import("etcd-ts").Election;
declare const compare: typeof import("etcd-ts").compare;
declare const op: typeof import("etcd-ts").op;
declare const txn: typeof import("etcd-ts").txn;
declare const initialCluster: typeof import("etcd-ts").initialCluster;
declare const NotSupportedError: typeof import("etcd-ts").NotSupportedError;
declare const PermissionDeniedError: typeof import("etcd-ts").PermissionDeniedError;
declare const session: import("etcd-ts").Session;
declare const endpoints: string[];
declare const endpoint: string;
declare const signal: AbortSignal;
declare const rootPassword: string;
declare const billingPassword: string;
declare const id: bigint;
declare const startRevision: bigint;
declare function apply(batch: import("etcd-ts").WatchBatch): void;
declare function runJob(fencingToken: bigint, options: { signal: AbortSignal }): Promise<void>;
`;

interface Block {
  /** docs/<file>.md:<line> */
  readonly where: string;
  readonly lang: string;
  readonly code: string;
  /** The words of its `<!-- docs-test: ... -->` marker. */
  readonly marker: readonly string[];
}

async function docBlocks(): Promise<Block[]> {
  const files = (await readdir(join(ROOT, "docs"))).filter((f) => f.endsWith(".md")).sort();
  const blocks: Block[] = [];
  for (const file of files) {
    const text = await readFile(join(ROOT, "docs", file), "utf8");
    for (const m of text.matchAll(/(?:<!-- docs-test: ([^>]*?) -->\n)?^```(\S*)\n([\s\S]*?)^```$/gm)) {
      const line = text.slice(0, m.index).split("\n").length + (m[1] ? 1 : 0);
      blocks.push({
        where: `docs/${file}:${line}`,
        lang: m[3] === undefined ? "" : m[2]!,
        code: m[3]!,
        marker: m[1]?.split(/\s+/) ?? [],
      });
    }
  }
  return blocks;
}

const isProgram = (b: Block) => b.marker.includes("program") || b.marker.includes("run");
/** The file a block is written to: the name its marker gives, else one made from where it is. */
const fileOf = (b: Block) =>
  b.marker.find((w) => w.endsWith(".ts")) ?? `${b.where.replace(/^docs\//, "").replace(/[.:]/g, "-")}.ts`;

const tsconfig = (root: string) =>
  JSON.stringify({
    extends: join(ROOT, "tsconfig.json"),
    compilerOptions: {
      noEmit: true,
      rootDir: ROOT,
      paths: { "etcd-ts": [join(ROOT, "src/index.ts")], "etcd-ts/*": [join(ROOT, "src/*/index.ts")] },
    },
    include: [join(root, "*.ts")],
    // The repo's tsconfig excludes test/tmp (where these files are); not this one.
    exclude: [],
  });

/** Writes `blocks` into `dir` with a tsconfig that resolves "etcd-ts" to the sources; runs tsc there. */
async function typecheck(
  dir: string,
  blocks: readonly Block[],
  prelude: string | undefined,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "tsconfig.json"), tsconfig(dir));
  // Its own package scope: "etcd-ts" must come from the tsconfig's paths, not the repo's self-reference.
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  if (prelude !== undefined) await writeFile(join(dir, "prelude.d.ts"), prelude);
  for (const b of blocks) {
    // A fragment is a module (for top-level await) that sees the prelude's globals.
    const body = prelude === undefined ? b.code : `${b.code}\nexport {};\n`;
    await writeFile(join(dir, fileOf(b)), `// ${b.where}\n${body}`);
  }
  try {
    await run(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(dir, "tsconfig.json")],
      {
        cwd: dir,
        timeout: 240_000,
      },
    );
    return "";
  } catch (err) {
    return (err as { stdout?: string }).stdout || String(err);
  }
}

let blocks: Block[];
let cluster: EtcdCluster;

beforeAll(async () => {
  blocks = await docBlocks();
  await rm(WORK, { recursive: true, force: true });
  cluster = await startEtcd();
});

afterAll(async () => {
  await cluster?.close();
  await rm(WORK, { recursive: true, force: true });
});

describe("docs/*.md code blocks", () => {
  it("say what they are: ts, sh or text", () => {
    expect(blocks.length).toBeGreaterThan(30);
    expect(blocks.filter((b) => !["ts", "sh", "text"].includes(b.lang)).map((b) => b.where)).toEqual([]);
  });

  it("typecheck: whole programs alone, fragments with the prelude", { timeout: 600_000 }, async () => {
    const ts = blocks.filter((b) => b.lang === "ts");
    expect(await typecheck(join(WORK, "programs"), ts.filter(isProgram), undefined)).toBe("");
    expect(
      await typecheck(
        join(WORK, "fragments"),
        ts.filter((b) => !isProgram(b)),
        PRELUDE,
      ),
    ).toBe("");
  });

  it("run as written when marked run, against a real etcd", { timeout: 300_000 }, async () => {
    const runnable = blocks.filter(
      (b) => b.marker.includes("run") && !b.marker.some((w) => w.startsWith("greeter")),
    );
    expect(runnable.map((b) => b.where.replace(/:\d+$/, ""))).toEqual(
      expect.arrayContaining(["docs/admin.md", "docs/client.md", "docs/concurrency.md"]),
    );
    const dir = join(WORK, "run");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "tsconfig.json"), tsconfig(dir));
    await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
    for (const b of runnable) {
      const file = join(dir, fileOf(b));
      await writeFile(file, b.code.replaceAll("http://127.0.0.1:2379", cluster.endpoint));
      const result = await run(process.execPath, ["--import", "tsx", file], {
        cwd: dir,
        timeout: 60_000,
      }).catch((err: unknown) => err as { code: number; stderr: string });
      expect(
        (result as { code?: number }).code,
        `${b.where} exited with an error: ${(result as { stderr?: string }).stderr}`,
      ).toBeUndefined();
    }
  });

  it("the Greeter of docs/discovery.md: server and client as an npm user copies them", {
    timeout: 120_000,
  }, async () => {
    const greeter = blocks.filter((b) => b.marker.some((w) => w.startsWith("greeter")));
    expect(greeter.map(fileOf).sort()).toEqual([
      "greeter-client.ts",
      "greeter-server.ts",
      "greeter-service.ts",
    ]);
    const dir = join(WORK, "greeter");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "tsconfig.json"), tsconfig(dir));
    await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
    for (const b of greeter)
      await writeFile(join(dir, fileOf(b)), b.code.replaceAll("http://127.0.0.1:2379", cluster.endpoint));
    const server = Child.spawn(
      "greeter-server",
      process.execPath,
      ["--import", "tsx", join(dir, "greeter-server.ts")],
      {
        // tsx reads "etcd-ts"'s path from this tsconfig (the child runs in the test's directory).
        TSX_TSCONFIG_PATH: join(dir, "tsconfig.json"),
      },
    );
    try {
      await server.until("the server to say it is registered", () =>
        server.lines.some((l) => l.includes("registered")),
      );
      const { stdout } = await run(process.execPath, ["--import", "tsx", join(dir, "greeter-client.ts")], {
        cwd: dir,
        timeout: 60_000,
      });
      expect(stdout.trim()).toBe("Hello, npm user");
      // SIGTERM: drain, stop serving, close the client, which deregisters: the key is gone at once.
      server.signal("SIGTERM");
      expect(await server.waitForExit("the server to exit after SIGTERM", 30_000)).toEqual({
        code: 0,
        signal: null,
      });
      await using etcd = new Etcd({ endpoints: cluster.endpoints });
      expect((await etcd.range({ prefix: "greeter/" })).kvs).toEqual([]);
    } finally {
      await server.kill();
    }
  });

  it("every etcd-ts line of the sh blocks is a command line the CLI takes; the rest is checked where it runs", async () => {
    // The esbuild commands the docs show are run by the bundle tests: Node's (test/runtimes) and the
    // browser's (test/web, etcd-ts/web).
    const bundleTest = (
      await Promise.all(
        ["test/runtimes/bundle.test.ts", "test/web/bundle.test.ts"].map((f) =>
          readFile(join(ROOT, f), "utf8"),
        ),
      )
    ).join("\n");
    const runtimes = await readFile(join(ROOT, "test/runtimes/runtimes.ts"), "utf8");
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      name: string;
      bin: object;
    };
    const connection = await readFile(join(ROOT, "src/cli/connection.ts"), "utf8");
    const problems: string[] = [];
    let commandLines = 0;
    for (const b of blocks.filter((x) => x.lang === "sh")) {
      const lines = b.code.replace(/\\\n\s*/g, "").split("\n");
      // With "$ " prompts, only the prompted lines are commands; the others are their output.
      const prompted = lines.some((l) => l.startsWith("$ "));
      for (const raw of lines) {
        if (prompted && !raw.startsWith("$ ")) continue;
        const line = raw
          .replace(/^\$ /, "")
          .replace(/\s+#.*$/, "")
          .trim();
        if (line === "") continue;
        const bad = (why: string) => problems.push(`${b.where}: ${line}: ${why}`);
        for (const cmd of line.matchAll(
          /(?:^|[|(;&]\s*|npx\s+)etcd-ts((?:\s+(?:"[^"]*"|'[^']*'|[^\s|)&<>;]+))*)/g,
        )) {
          const words = [...cmd[1]!.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((w) => w[1] ?? w[2] ?? w[3]!);
          commandLines++;
          try {
            checkCommandLine(words);
          } catch (err) {
            bad((err as Error).message);
          }
        }
        const [first, second] = line.split(/\s+/);
        if (first === "export") {
          for (const name of line.matchAll(/\b(\w+)=/g))
            if (!connection.includes(`"${name[1]}"`)) bad(`${name[1]} is not a variable the CLI reads`);
        } else if (first === "npm") {
          if (!line.endsWith(` ${pkg.name}`) || !("etcd-ts" in pkg.bin)) bad("not this package");
        } else if (first === "npx" && second === "esbuild") {
          const flags = line
            .split(/\s+(?=--)/)
            .slice(1)
            .filter((f) => !f.startsWith("--outfile="));
          for (const flag of flags) {
            const value = flag.replace(/^(--[\w:@/.-]+)=?"?(.*?)"?$/, "$1=$2").replace(/=$/, "");
            if (!bundleTest.includes(`"${value}"`))
              bad(
                `${flag} is not among the esbuild flags test/runtimes/bundle.test.ts or test/web/bundle.test.ts runs`,
              );
          }
        } else if (["node", "bun", "deno"].includes(first!)) {
          if (first === "deno" && !runtimes.includes('"run", "-A"'))
            bad("test/runtimes does not run deno with run -A");
        } else if (first === "etcdctl") {
          // etcdctl's own command (reading what etcd-ts wrote): not ours to check.
        } else if (!/(^|\$\(|\s)etcd-ts\s/.test(line) && !line.startsWith("etcd-ts"))
          bad("no check knows this line");
      }
    }
    expect(problems).toEqual([]);
    expect(commandLines).toBeGreaterThan(20);
  });
});

describe("docs/*.md for people who install from npm", () => {
  it("say 'in the repository' wherever they name a file or script the package does not ship", async () => {
    const files = (await readdir(join(ROOT, "docs"))).filter((f) => f.endsWith(".md"));
    const problems: string[] = [];
    for (const file of files) {
      const text = (await readFile(join(ROOT, "docs", file), "utf8")).replace(/^```[\s\S]*?^```$/gm, "");
      const blocks = text.split(/\n\s*\n/);
      // A page whose first paragraph says it is about the repository (performance, protocol) is covered.
      if (blocks[0]?.startsWith("# ") && /repository/i.test(blocks[1] ?? "")) continue;
      // Else each paragraph, list or table (what is read together) says it where it names such a file.
      for (const block of blocks) {
        const repoOnly = [
          ...block.matchAll(
            /`((?:examples|test|scripts)\/[^`]*|bench\/(?!results\/)[^`]*|[^`]*\.spec\.ts|npm run [^`]*)`/g,
          ),
        ].map((m) => m[1]);
        if (repoOnly.length > 0 && !/repository/i.test(block))
          problems.push(`docs/${file}: ${repoOnly.join(", ")} (in: ${block.trim().slice(0, 80)}…)`);
      }
    }
    expect(problems).toEqual([]);
  });
});

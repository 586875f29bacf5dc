import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { registerCleanup } from "../../../src/testing/cleanup.js";
import { REQUIRE_RUNTIMES } from "../../runtimes/runtimes.js";

const require = createRequire(import.meta.url);

/** Cloudflare's Workers runtime from the `workerd` devDependency, found or with the reason it is missing. */
export interface WorkerdFound {
  /** The binary, or undefined when it is missing. */
  readonly executable: string | undefined;
  readonly missing: string | undefined;
  /** The package's version, e.g. `1.20261123.1` (empty when missing). */
  readonly version: string;
  /** The newest compatibility date the binary supports: the Worker's `compatibilityDate`. */
  readonly compatibilityDate: string;
}

/**
 * The `workerd` package's binary. It ships in the platform's optional dependency
 * (`@cloudflare/workerd-linux-64` here) and runs as installed: the package's postinstall, which npm here
 * does not run, only checks it (or downloads it when the optional dependency is missing).
 * `require("workerd").default` is its path; `WORKERD_BIN` overrides.
 */
export function findWorkerd(): WorkerdFound {
  let pkg: { default: string; version: string; compatibilityDate: string };
  try {
    pkg = require("workerd") as typeof pkg;
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return {
      executable: undefined,
      missing: `no workerd package (npm ci): ${why}`,
      version: "",
      compatibilityDate: "",
    };
  }
  const path = process.env.WORKERD_BIN || pkg.default;
  try {
    execFileSync(path, ["--version"], { stdio: ["ignore", "pipe", "pipe"] });
    return {
      executable: path,
      missing: undefined,
      version: pkg.version,
      compatibilityDate: pkg.compatibilityDate,
    };
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return {
      executable: undefined,
      missing: `${path} --version failed: ${why}`,
      version: "",
      compatibilityDate: "",
    };
  }
}

/** In CI a missing workerd fails the suite; locally it skips and says why. */
export const REQUIRE_WORKERD = REQUIRE_RUNTIMES;

/** A running workerd serving one Worker. */
export interface WorkerdServer {
  /** `http://127.0.0.1:<port>`: the Worker's address. */
  readonly url: string;
  /** The last lines workerd printed (the Worker's console and uncaught errors go there). */
  logTail(): string;
  /** Stops workerd (SIGTERM, SIGKILL after 5 s) and removes its files. */
  close(): Promise<void>;
}

/** Options of {@link startWorkerd}. */
export interface StartWorkerdOptions {
  /** The Worker: one ES module (module syntax, `export default { fetch }`), bundled. */
  script: string;
  /** Text bindings, the Worker's `env` (e.g. the etcd endpoint). */
  bindings: Record<string, string>;
}

const LOG_LINES = 40;

/**
 * Runs `script` as a Worker under workerd on 127.0.0.1 and a port the system picks (workerd reports it on
 * `--control-fd`), with no Node compatibility flag: only what a Worker has. Outbound `fetch` may reach
 * loopback addresses only (the etcd under test), through a `network` service allowing "local".
 */
export async function startWorkerd(
  found: WorkerdFound,
  options: StartWorkerdOptions,
): Promise<WorkerdServer> {
  if (!found.executable) throw new Error(`workerd is not installed: ${found.missing}`);
  const dir = await mkdtemp(join(tmpdir(), "etcd-ts-workerd-"));
  const release = registerCleanup({ paths: [dir] });
  const bindings = Object.entries(options.bindings)
    .map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`)
    .join(", ");
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = ${JSON.stringify(found.compatibilityDate)},
  bindings = [${bindings}],
  globalOutbound = "loopback",
);
`;
  await writeFile(join(dir, "worker.js"), options.script);
  await writeFile(join(dir, "config.capnp"), config);
  const child: ChildProcess = spawn(
    found.executable,
    ["serve", "config.capnp", "--control-fd=3", "--verbose"],
    {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    },
  );
  const releasePid = child.pid === undefined ? () => {} : registerCleanup({ pid: child.pid });
  const log: string[] = [];
  const keep = (chunk: Buffer) => {
    log.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    log.splice(0, Math.max(0, log.length - LOG_LINES));
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = once(child, "close");
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    releasePid();
    await rm(dir, { recursive: true, force: true });
    release();
  };
  try {
    const port = await listenPort(child.stdio[3] as Readable, exited, () => log.join("\n"));
    return { url: `http://127.0.0.1:${port}`, logTail: () => log.join("\n"), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The port of the first `{"event":"listen"}` line on workerd's control fd. */
function listenPort(control: Readable, exited: Promise<unknown>, logTail: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let rest = "";
    const timer = setTimeout(() => fail("workerd did not listen within 60 s"), 60_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${why}\n--- workerd log (tail) ---\n${logTail()}`));
    };
    control.setEncoding("utf8");
    control.on("data", (chunk: string) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const event = JSON.parse(line) as { event?: string; port?: number };
        if (event.event === "listen" && typeof event.port === "number") {
          clearTimeout(timer);
          resolve(event.port);
        }
      }
    });
    void exited.then(() => fail("workerd exited before it listened"));
  });
}

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll } from "vitest";
import { type Etcd, EtcdError } from "../../src/client/index.js";
import type { EtcdCluster } from "../../src/testing/index.js";
import { Child } from "../support/child.js";
import { compiled } from "../support/compiled.js";
import { useEtcd as useEtcdFixture } from "../support/etcd-fixture.js";

/** The CLI's entry, bundled from source on each test run (no build needed) and run with plain node. */
export const CLI_MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** How long one command may run before the test calls it hung. */
const HANG_MS = 30_000;

/**
 * `extra` over this process's environment, every ETCDCTL_* variable of the developer's own blanked (the
 * CLI takes an empty variable as unset), so that only what a test sets reaches the CLI.
 */
export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  const blanked: Record<string, string> = {};
  for (const name of Object.keys(process.env)) if (name.startsWith("ETCDCTL_")) blanked[name] = "";
  return { ...blanked, ...extra };
}

/** How one run of the CLI ended. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** ETCDCTL_* variables and the like, on top of this process's environment. */
  env?: Record<string, string>;
  /** What the CLI reads on stdin (default: nothing, stdin closed). */
  input?: string;
}

/** Runs `etcd-ts <args>` to its end; rejects only if it hangs (naming the command). */
export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [compiled(CLI_MAIN), ...args],
      { env: { ...process.env, ...cliEnv(options.env) }, timeout: HANG_MS, encoding: "utf8" },
      (err, stdout, stderr) => {
        if ((err as { killed?: boolean } | null)?.killed)
          reject(new Error(`hung: etcd-ts ${args.join(" ")} did not exit within ${HANG_MS} ms\n${stderr}`));
        else resolve({ code: child.exitCode, stdout, stderr });
      },
    );
    child.stdin!.end(options.input ?? "");
  });
}

/** Runs `etcd-ts <args>` and returns its stdout; throws (with its stderr) unless it exits with 0. */
export async function cliOk(args: string[], options: RunCliOptions = {}): Promise<string> {
  const r = await runCli(args, options);
  if (r.code !== 0)
    throw new EtcdError(`etcd-ts ${args.join(" ")} exited with ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** `cliOk` with `--json`, the output parsed. */
export async function cliJson<T = unknown>(args: string[], options: RunCliOptions = {}): Promise<T> {
  return JSON.parse(await cliOk([...args, "--json"], options)) as T;
}

/** Starts a long-running `etcd-ts <args>` (watch, lock, elect, ...) whose stdout lines a test waits for. */
export function startCli(args: string[], env: Record<string, string> = {}): Child {
  return Child.spawn(
    `etcd-ts ${args.join(" ")}`,
    process.execPath,
    [compiled(CLI_MAIN), ...args],
    cliEnv(env),
  );
}

/** What a started CLI wrote on stderr (its tail), without the stdout lines `Child` keeps beside it. */
export function stderrOf(child: Child): string {
  return child
    .stderrTail()
    .split("\n")
    .filter((line) => !line.startsWith("[stdout] "))
    .join("\n");
}

/** What {@link useEtcd} gives a test file. */
export interface CliTestbed {
  /** The member(s). */
  readonly cluster: EtcdCluster;
  /** A client of them, for the test's own reads and writes. */
  readonly etcd: Etcd;
  /** `["--endpoints", <the first member>]`. */
  readonly ep: string[];
  /** {@link startCli} with `--endpoints` set; the child is killed after the test if it still runs. */
  start(args: string[]): Child;
}

/**
 * The shared fixture (test/support/etcd-fixture.ts) for CLI files: one etcd for the file, a client of it,
 * and every CLI started through it killed after its test if it still runs.
 */
export function useEtcd(): CliTestbed {
  const bed = useEtcdFixture();
  let etcd: Etcd | undefined;
  beforeAll(() => {
    etcd = bed.client();
  });
  return {
    get cluster() {
      return bed.cluster;
    },
    get etcd() {
      if (etcd === undefined) throw new Error("useEtcd: etcd is not started yet (use it inside a test)");
      return etcd;
    },
    get ep() {
      return ["--endpoints", bed.cluster.endpoint];
    },
    start(args) {
      const child = startCli([...this.ep, ...args]);
      bed.cleanups.push(() => child.kill());
      return child;
    },
  };
}

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { EtcdError } from "../../src/client/index.js";
import { Child } from "../support/child.js";

/** The CLI's entry, run from source through tsx (no build needed). */
export const CLI_MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** How long one command may run before the test calls it hung. */
const HANG_MS = 30_000;

/** This process's environment without ETCDCTL_* (a developer's own must not leak in), plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith("ETCDCTL_")) env[name] = value;
  return { ...env, ...extra };
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
      ["--import", "tsx", CLI_MAIN, ...args],
      { env: cliEnv(options.env), timeout: HANG_MS, encoding: "utf8" },
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
  return Child.spawn(`etcd-ts ${args.join(" ")}`, ["--import", "tsx", CLI_MAIN, ...args], cliEnv(env));
}

/** What a started CLI wrote on stderr (its tail), without the stdout lines `Child` keeps beside it. */
export function stderrOf(child: Child): string {
  return child
    .stderrTail()
    .split("\n")
    .filter((line) => !line.startsWith("[stdout] "))
    .join("\n");
}

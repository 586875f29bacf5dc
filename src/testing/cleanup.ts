import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import type { Socket } from "node:net";

/** What must not outlive this process: a child to SIGKILL and/or paths to delete. */
export interface CleanupTarget {
  /** Process to SIGKILL if this process ends while it still runs. */
  pid?: number | undefined;
  /** Files or directories to remove if this process ends before they were released. */
  paths?: string[] | undefined;
}

/** Undoes a registration once the owner cleaned up by itself (process exited, directory removed). */
export type ReleaseCleanup = () => void;

interface Entry {
  target: CleanupTarget;
  guard: ChildProcess | undefined;
}

/**
 * Everything still to clean when the process ends. This is the one piece of module state in the kit, on
 * purpose: an exit hook is process-wide by nature, and one listener for all members keeps Node's
 * max-listeners warning away however many clusters a test file starts.
 */
const pending = new Set<Entry>();
let hookInstalled = false;

/**
 * Registers a child process or temp paths for cleanup when this process ends without closing them.
 * Two layers: a synchronous `process.once("exit")` hook (normal exit, `process.exit()`, uncaught error),
 * and, on POSIX, a small detached `sh` guard that waits on a pipe from us: when this process dies by any
 * means, SIGKILL included, the pipe closes and the guard kills the child and removes the paths.
 */
export function registerCleanup(target: CleanupTarget): ReleaseCleanup {
  const entry: Entry = { target, guard: spawnGuard(target) };
  pending.add(entry);
  if (!hookInstalled) {
    hookInstalled = true;
    process.once("exit", runPendingCleanup);
  }
  return () => {
    if (!pending.delete(entry)) return;
    entry.guard?.kill("SIGKILL");
  };
}

/** Kills and removes everything still registered, synchronously (an exit hook cannot await). */
function runPendingCleanup(): void {
  hookInstalled = false;
  for (const entry of pending) {
    // The guard goes first so it cannot act on a pid the kernel might hand out again.
    entry.guard?.kill("SIGKILL");
    if (entry.target.pid !== undefined) {
      try {
        process.kill(entry.target.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    for (const path of entry.target.paths ?? []) {
      try {
        rmSync(path, { recursive: true, force: true });
      } catch {
        // Best effort: the process is exiting.
      }
    }
  }
  pending.clear();
}

/**
 * `cat` blocks until our end of its stdin closes, which happens only when we die (we never write or end
 * it; a release SIGKILLs the guard instead). Detached, so a terminal Ctrl-C does not take it down first.
 */
const GUARD_SCRIPT =
  'cat >/dev/null; if [ "$0" != "-" ]; then kill -9 "$0" 2>/dev/null; sleep 0.3; fi; rm -rf "$@"';

function spawnGuard(target: CleanupTarget): ChildProcess | undefined {
  // ETCD_TS_CLEANUP_GUARD=0 leaves only the exit hook (the kit's own test checks each layer alone).
  if (process.platform === "win32" || process.env.ETCD_TS_CLEANUP_GUARD === "0") return undefined;
  const paths = target.paths ?? [];
  if (target.pid === undefined && paths.length === 0) return undefined;
  try {
    const guard = spawn("/bin/sh", ["-c", GUARD_SCRIPT, String(target.pid ?? "-"), ...paths], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    guard.on("error", () => {});
    guard.stdin?.on("error", () => {});
    // Neither the guard nor its pipe may keep the event loop (and a test run) alive.
    guard.unref();
    (guard.stdin as Socket | null)?.unref();
    return guard;
  } catch {
    return undefined;
  }
}

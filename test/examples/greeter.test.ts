import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { CALLS_PER_POLICY } from "../../examples/greeter/slow-instance.js";

// `npm run demo` (examples/greeter/demo.ts) run as a user runs it, against the real etcd the demo starts
// through the test kit; the assertions read its output, which is what the README shows.

interface Section {
  title: string;
  lines: string[];
}

let output = "";
const sections: Section[] = [];

/** `#12 Hello demo from grpc-js@127.0.0.1:23456` -> `grpc-js@127.0.0.1:23456`. */
const answers = (lines: string[]) =>
  lines.map((l) => /^#\d+ Hello demo from (\S+)$/.exec(l)?.[1]).filter((a): a is string => a !== undefined);
const section = (prefix: string) => {
  const found = sections.find((s) => s.title.startsWith(prefix));
  if (!found) throw new Error(`no section "${prefix}" in the demo's output:\n${output}`);
  return found;
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
};

beforeAll(async () => {
  // execFile rejects on a non-zero exit code or after the timeout (it takes ~15 s; the timeout only
  // catches a demo that never ends).
  const { stdout } = await promisify(execFile)("npm", ["run", "--silent", "demo"], {
    timeout: 90_000,
    killSignal: "SIGKILL",
  });
  output = stdout;
  for (const line of stdout.split("\n")) {
    if (line.startsWith("== ")) sections.push({ title: line.slice(3), lines: [] });
    else if (line.trim() !== "") sections.at(-1)?.lines.push(line);
  }
}, 120_000);

describe("npm run demo (examples/greeter)", () => {
  it("exits 0 by itself", () => {
    expect(output).toContain("done: etcd, servers and the child process are stopped");
  });

  it("follows the servers through start, graceful stop, crash and a new server, with no failed call", (context) => {
    // On failure, the demo's whole output explains what happened.
    context.onTestFailed(() => console.error(output));
    const servers = section("2.").lines.map((l) => /^\s+(\S+@127\.0\.0\.1:\d+)/.exec(l)?.[1]);
    const [grpcJs, connectNode, child] = servers;
    expect(grpcJs).toMatch(/^grpc-js@/);
    expect(connectNode).toMatch(/^connect-node@/);
    expect(child).toMatch(/^child-process@/);

    // All three initial implementations answer.
    expect(new Set(answers(section("3.").lines))).toEqual(new Set([grpcJs, connectNode, child]));

    // After its graceful stop, the connect-node server answers no more.
    const stop = section("4.").lines;
    const closedAt = stop.findIndex((l) => l.includes(`${connectNode}: server closed`));
    expect(stop.slice(0, closedAt).some((l) => l.includes(`${connectNode}: drained`))).toBe(true);
    expect(stop.slice(0, closedAt).some((l) => l.includes(`${connectNode}: deregistered`))).toBe(true);
    expect(answers(stop.slice(closedAt))).not.toContain(connectNode);

    // The SIGKILLed child's key lasts until its 3 s lease expires; then discovery drops it.
    const crash = section("5.").lines;
    expect(crash).toContain("   child exited: SIGKILL");
    const left = crash.find((l) => l.includes(`${child} left discovery`));
    expect(left).toBeDefined();
    // Not at once: the lease (TTL 3 s, renewed every 1 s) outlives the process by about 2 s or more.
    const seconds = Number(/ ([\d.]+) s later/.exec(left!)![1]);
    expect(seconds).toBeGreaterThan(1);

    // The new server, in a new process on a new port, answers; the stopped and killed ones do not.
    const fresh = section("6.").lines;
    const replacement = fresh
      .map((l) => /^\s+(child-process@127\.0\.0\.1:\d+)\s+pid/.exec(l)?.[1])
      .find(Boolean);
    expect(replacement).toBeDefined();
    expect(replacement).not.toBe(child);
    const end = answers(fresh);
    expect(end).toContain(replacement);
    expect(end).not.toContain(connectNode);
    expect(end).not.toContain(child);
    expect(end.slice(-6).sort()).toEqual(
      [grpcJs, grpcJs, grpcJs, replacement, replacement, replacement].sort(),
    );

    // The grpc-js resolver path reaches live servers only.
    const viaResolver = section("7.").lines.map(
      (l) => /grpc-js client #\d: Hello grpc-js client from (\S+)/.exec(l)?.[1],
    );
    expect(viaResolver).toHaveLength(4);
    for (const who of viaResolver) expect([grpcJs, replacement]).toContain(who);

    // SayHello is declared retryable in the demo: calls that hit the dead instance went elsewhere. The
    // phases last 20, 10 and 20 answered calls (counted, not timed), and the crash phase has more.
    const summary = section("9.").lines.join("\n");
    const [, ok, failed] = /calls: (\d+) ok, (\d+) failed/.exec(summary)!;
    expect(Number(failed)).toBe(0);
    expect(Number(ok)).toBeGreaterThan(50);
    expect(output.split("\n").filter((l) => l.includes("FAILED"))).toEqual([]);
  });

  it("shows a slow instance losing its share under p2c-ewma, and keeping its third under round robin", (context) => {
    context.onTestFailed(() => console.error(output));
    const lines = section("8.").lines;
    const servers = lines.map((l) => /^\s+(\S+@127\.0\.0\.1:\d+)\s+answers /.exec(l)?.[1]).filter(Boolean);
    expect(servers).toHaveLength(3);
    const slow = servers.find((s) => s!.startsWith("slow@"));
    expect(slow).toBeDefined();
    const counts = (policy: string) =>
      new Map(
        lines
          .map((l) =>
            new RegExp(`^\\s+${policy}\\s+(\\S+)\\s+answered\\s+(\\d+) of ${CALLS_PER_POLICY}$`).exec(l),
          )
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => [m[1]!, Number(m[2])]),
      );
    // Round robin, one call at a time over three equal instances: a third each, give or take one call.
    const rr = counts("round-robin");
    expect([...rr.keys()].sort()).toEqual([...servers].sort());
    for (const n of rr.values()) expect(n).toBeGreaterThanOrEqual(Math.floor(CALLS_PER_POLICY / 3));
    // p2c-ewma: the instance answering 200 ms later gets under a fifth (test/discovery/p2c-ewma.test.ts
    // states the same bound); the counts add up to the calls made.
    const ewma = counts("p2c-ewma");
    expect([...ewma.values()].reduce((a, b) => a + b, 0)).toBe(CALLS_PER_POLICY);
    expect(ewma.get(slow!) ?? 0).toBeLessThan(CALLS_PER_POLICY / 5);
  });

  it("stops the child gracefully on SIGTERM and leaves no process running", () => {
    const teardown = section("10.").lines;
    const pid = Number(teardown.map((l) => /^\s+child pid (\d+) exited: 0$/.exec(l)?.[1]).find(Boolean));
    expect(pid).toBeGreaterThan(0);
    for (const step of [
      "SIGTERM: stopping gracefully",
      "drained",
      "deregistered",
      "server closed",
      "exiting with code 0",
    ]) {
      expect(teardown.some((l) => l.startsWith(`   [pid ${pid}]`) && l.includes(step))).toBe(true);
    }

    const etcdPid = Number(/\(pid (\d+)\)/.exec(section("1.").lines[0]!)![1]);
    const childPids = [...output.matchAll(/pid (\d+) \(examples\/greeter\/server-process\.ts\)/g)].map((m) =>
      Number(m[1]),
    );
    expect(childPids).toHaveLength(2);
    expect(childPids).toContain(pid);
    for (const p of [etcdPid, ...childPids]) expect(alive(p), `pid ${p} still running`).toBe(false);
  });
});

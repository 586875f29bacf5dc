import { relative } from "node:path";
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { DEFAULT_ETCD_VERSION, ETCD_VERSIONS, isEtcdVersionLine } from "./src/testing/versions.js";

/** Every test and spec: what the default etcd line runs. */
const ALL = ["src/**/*.spec.ts", "bench/**/*.spec.ts", "test/**/*.test.ts"];

/**
 * The suites where the server's behaviour matters, run again on every other etcd line of the matrix:
 * KV and txn, watch and resume, progress, leases, auth with expiry, cluster and maintenance, recipes,
 * cache, discovery, the CLI, processes and faults, and the client over etcd's JSON gateway (whose answers
 * differ between lines), in Node and under the web runtimes (Chromium, workerd, Bun, Deno).
 */
export const SERVER_SUITES = [
  "test/client/**/*.test.ts",
  "test/watch/**/*.test.ts",
  "test/lease/**/*.test.ts",
  "test/admin/**/*.test.ts",
  "test/concurrency/**/*.test.ts",
  "test/discovery/**/*.test.ts",
  "test/cli/**/*.test.ts",
  "test/faults/**/*.test.ts",
  "test/process/**/*.test.ts",
  "test/conformance/**/*.test.ts",
  "test/versions/**/*.test.ts",
  "test/interop/**/*.test.ts",
  "test/gateway/**/*.test.ts",
  "test/web/**/*.test.ts",
];

/**
 * The slow suites, each line's second project (`etcd-3.x-slow`): other runtimes and bundles (the web
 * suites' browser and Worker runtime included), child
 * processes (the CLI, the process and soak suites, the Go interop program, the demo, the docs' programs, the
 * test kit's own children), faults (fault harness, failpoint stalls). `npm test` runs the fast projects
 * alone, `npm run test:slow` these; `npx vitest run` and `npm run test:matrix` (CI) run both.
 */
export const SLOW_SUITES = [
  "test/runtimes/**/*.test.ts",
  "test/web/browser.test.ts",
  "test/web/workerd.test.ts",
  "test/web/runtimes.test.ts",
  "test/process/**/*.test.ts",
  "test/cli/**/*.test.ts",
  "test/interop/**/*.test.ts",
  "test/examples/**/*.test.ts",
  "test/docs/docs.test.ts",
  "test/testing/kit.test.ts",
  "test/faults/**/*.test.ts",
  "test/conformance/faults.test.ts",
  "test/watch/slow-catch-up.test.ts",
  "test/gateway/faults.test.ts",
];

/** The slow suites that the other lines run too: those under a {@link SERVER_SUITES} folder. */
const SLOW_SERVER_SUITES = SLOW_SUITES.filter((slow) =>
  SERVER_SUITES.some((server) => slow.startsWith(server.slice(0, server.indexOf("**")))),
);

/**
 * Files that start the etcd versions they compare themselves (3.6 beside 3.7, say): the default project
 * runs them once; the other lines' projects would only repeat them.
 */
const PIN_THEIR_OWN_VERSIONS = ["test/client/range-stream.test.ts", "test/client/server-version.test.ts"];

/**
 * Files whose subject is the client alone (a non-default transport's leg of the fault suite, connect
 * timeouts against a silent socket, grpc-js's resolver and balancer over discovery, the balanced
 * transport's picking policies, locality, slow start, endpoints by protocol and active health checks
 * against test servers, the CLI's copy loop of `make-mirror`, the benchmark's Go client): the server's part
 * of them (discovery's reads and watches, registrations, the mirror's read and watch) runs on every line
 * in other suites (`test/discovery/discovery.test.ts`, `registration.test.ts`, `test/client/mirror.test.ts`),
 * so the other lines would only repeat them.
 */
const CLIENT_SIDE = [
  "test/faults/faults-grpc-js.test.ts",
  "test/client/connect-timeout.test.ts",
  "test/discovery/grpc-js-resolver.test.ts",
  "test/discovery/p2c-ewma.test.ts",
  "test/discovery/ring-hash.test.ts",
  "test/discovery/locality.test.ts",
  "test/discovery/slow-start.test.ts",
  "test/discovery/endpoints.test.ts",
  "test/discovery/grpc-js-balancer.test.ts",
  "test/discovery/grpc-js-locality.test.ts",
  "test/discovery/shaping-rolling-restart.test.ts",
  "test/discovery/health-check.test.ts",
  "test/interop/go-health.test.ts",
  "test/interop/go-endpoints.test.ts",
  "test/interop/hpack-go.test.ts",
  "test/interop/go-bench.test.ts",
  "test/cli/make-mirror.test.ts",
];

/**
 * A user's program as a process (stays alive through cuts and crashes, exits by itself), and the soak
 * (issue 26: memory under churn): what keeps a process alive and its memory flat is the client's, and what
 * the server does under it (cancels, expiries, resumes) is proven on every line by the watch, lease,
 * discovery and fault suites, and by `test/watch/close-during-break.test.ts` (each closed object gone from
 * etcd's own watcher count). They run on the default line and on the newest.
 */
const PROCESS_LEVEL = [
  "test/process/watch-only.test.ts",
  "test/process/registration-only.test.ts",
  "test/process/cache-only.test.ts",
  "test/process/closed-everything.test.ts",
  "test/process/soak.test.ts",
];

/** Files that cannot run on a line, even as its whole suite: 3.4 is Debian's binary, with no failpoint build (the failpoint files). */
const CANNOT_RUN_ON: Record<string, string[]> = {
  "3.4": ["test/watch/slow-catch-up.test.ts", "test/client/monotonic-reads.test.ts"],
};

/** What a line's matrix project (not the whole suite of the default line) leaves out of SERVER_SUITES. */
const NOT_REPEATED_ON: Record<string, string[]> = {
  "3.4": [...CLIENT_SIDE, ...PROCESS_LEVEL],
  "3.5": [...CLIENT_SIDE, ...PROCESS_LEVEL],
  "3.6": [...CLIENT_SIDE, ...PROCESS_LEVEL],
  "3.7": CLIENT_SIDE,
};

/**
 * `ETCD_TEST_VERSIONS` (comma-separated lines, or `all`) adds the matrix: two vitest projects per line,
 * `etcd-3.x` (fast) and `etcd-3.x-slow`, named so in every report line. `npm test` runs the default line's
 * fast project alone; `npm run test:matrix` (what CI runs) runs every project of every line.
 */
function matrix(): string[] {
  const asked = process.env.ETCD_TEST_VERSIONS?.trim();
  if (!asked) return [];
  const lines = asked === "all" ? Object.keys(ETCD_VERSIONS) : asked.split(",").map((l) => l.trim());
  for (const line of lines)
    if (!isEtcdVersionLine(line)) throw new Error(`ETCD_TEST_VERSIONS: unknown etcd line ${line}`);
  return lines.filter((line) => line !== defaultLine());
}

/** The line of the whole suite: `ETCD_VERSION` if set, else the project's default. */
function defaultLine(): string {
  return process.env.ETCD_VERSION || DEFAULT_ETCD_VERSION;
}

/** The project `etcd-<line>` (`etcd-<line>-slow` when `slow`) of `include` minus `exclude`. */
function project(
  line: string,
  slow: boolean,
  include: string[],
  exclude: string[] = [],
): TestProjectInlineConfiguration {
  return {
    extends: true,
    test: {
      name: slow ? `etcd-${line}-slow` : `etcd-${line}`,
      include,
      // The fast projects share a worker's module graph between files (modules load once per worker, not
      // once per file: 72 s of imports down to 10 s over the default line's fast files). Every live object
      // leaves no timer or socket after close(), so a file cannot reach into the next one; the slow ones
      // (child processes, fault harnesses that set process.env, other runtimes) keep a process per file.
      isolate: slow,
      exclude: [...configDefaults.exclude, ...exclude, ...(CANNOT_RUN_ON[line] ?? [])],
      // ETCD_BIN, when set, still wins in the kit: it names one binary for every project.
      env: { ETCD_VERSION: line },
    },
  };
}

/**
 * The files that took longest, longest first: one run's wall time, measured on a busy 2-core machine
 * (2026-12-07, the matrix beside other work; seconds per line): the process suites (84, 45, 45, 53 for
 * the soak), the docs' programs (75), the CLI's (70, 56, 47, 43, 38, 27), the fault suites (66, 56, 53),
 * bundles and runtimes (62, 26), the test kit (48), registration (41), the slow catch-up (38), the demo (29).
 * A fresh clone has no vitest cache of durations, so {@link HeaviestFirst} starts these first.
 */
const HEAVIEST = [
  "test/process/registration-only.test.ts",
  "test/docs/docs.test.ts",
  "test/cli/kv.test.ts",
  "test/faults/auth.test.ts",
  "test/runtimes/bundle.test.ts",
  "test/cli/etcdctl-compat.test.ts",
  "test/faults/faults.test.ts",
  "test/process/soak.test.ts",
  "test/faults/faults-grpc-js.test.ts",
  "test/testing/kit.test.ts",
  "test/cli/lease.test.ts",
  "test/process/cache-only.test.ts",
  "test/process/watch-only.test.ts",
  "test/cli/auth-env.test.ts",
  "test/discovery/registration.test.ts",
  "test/cli/make-mirror.test.ts",
  "test/watch/slow-catch-up.test.ts",
  "test/examples/greeter.test.ts",
  "test/cli/lock-elect.test.ts",
  "test/runtimes/runtimes.test.ts",
];

/**
 * The order files start in. vitest's own runs the projects one after the other (in name order, so the
 * newest line's slow files, the longest, came last and one worker waited alone for the last of them)
 * and, without a cache of durations (a fresh clone), the largest files of a project first. Here every
 * slow project's files come first, across lines, the known heaviest ({@link HEAVIEST}) first, so that
 * the run ends on short files that fill both workers. A fast project's files stay together (a worker
 * runs the next file of the same project in the same process, `isolate: false`), after the slow ones.
 */
class HeaviestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const i = HEAVIEST.indexOf(relative(spec.project.config.root, spec.moduleId));
      return i === -1 ? HEAVIEST.length : i;
    };
    const slow = sorted.filter((spec) => spec.project.config.isolate).sort((a, b) => rank(a) - rank(b));
    const fast = sorted.filter((spec) => !spec.project.config.isolate);
    return [...slow, ...fast];
  }
}

export default defineConfig({
  test: {
    // Integration tests start real etcd members and child processes, and mostly wait on them: a matrix run
    // used 0.34 of a core on average (706 s of CPU, user and system, over a 2,076 s run on a busy 2-core
    // machine). Three files at once keep a 2-core machine busier without crowding it.
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    sequence: { sequencer: HeaviestFirst },
    // The one guard against unhandled rejections: fails the file in which one escaped.
    setupFiles: ["test/setup/no-unhandled-rejections.ts"],
    projects: [
      project(defaultLine(), false, ALL, SLOW_SUITES),
      project(defaultLine(), true, SLOW_SUITES),
      ...matrix().flatMap((line) => {
        const notRepeated = [...PIN_THEIR_OWN_VERSIONS, ...(NOT_REPEATED_ON[line] ?? [])];
        return [
          project(line, false, SERVER_SUITES, [...SLOW_SUITES, ...notRepeated]),
          project(line, true, SLOW_SERVER_SUITES, notRepeated),
        ];
      }),
    ],
  },
});

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * docs/architecture.md names files and folders of the repository; this keeps every one of them real, so
 * the page cannot go on pointing at a file that moved. No etcd is needed.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The repository paths written in backticks in `markdown`: every word of a backtick span that starts with
 * `src/`, `test/`, `bench/` or `scripts/`, with the line it is on. A placeholder (`bench/<name>.ts`)
 * stands for a file not yet written: only the part before it (`bench/`) must exist.
 */
function backtickedPaths(markdown: string): { path: string; line: number }[] {
  const found: { path: string; line: number }[] = [];
  for (const span of markdown.matchAll(/`([^`\n]+)`/g)) {
    const line = markdown.slice(0, span.index).split("\n").length;
    for (const word of span[1]!.split(/\s+/)) {
      const path = /^(?:src|test|bench|scripts)\/[^\s,;:)]*/.exec(word)?.[0];
      if (path !== undefined) found.push({ path, line });
    }
  }
  return found;
}

/** The paths of {@link backtickedPaths} that do not exist under `root`, as `line N: path`. */
function missingPaths(markdown: string, root: string): string[] {
  return backtickedPaths(markdown)
    .filter(({ path }) => !existsSync(join(root, path.split("<")[0]!)))
    .map(({ path, line }) => `line ${line}: ${path}`);
}

describe("docs/architecture.md", () => {
  it("names only repository paths that exist", async () => {
    const text = await readFile(join(ROOT, "docs", "architecture.md"), "utf8");
    // The page names dozens of files; finding few would mean the parsing broke, not that all is well.
    expect(backtickedPaths(text).length).toBeGreaterThan(50);
    expect(missingPaths(text, ROOT)).toEqual([]);
  });

  it("the check finds a missing path, a placeholder's missing folder, and a path inside a command", () => {
    const text = [
      "The pool is `src/client/call/pool.ts`; the old one was `src/client/connection/pool.ts`.",
      "A bench goes in `bench/<name>.ts`, a kit in `nowhere/<name>.ts` and `src/nowhere/<name>.ts`.",
      "Run `npx vitest run test/docs test/nope.test.ts`.",
    ].join("\n");
    expect(missingPaths(text, ROOT)).toEqual([
      "line 1: src/client/connection/pool.ts",
      "line 2: src/nowhere/<name>.ts",
      "line 3: test/nope.test.ts",
    ]);
  });
});

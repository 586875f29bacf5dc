import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);

/** README code blocks marked `<!-- example: path -->` must equal that file, imported as a user would. */
describe("README", () => {
  it("shows the examples exactly as the files that the tests run", async () => {
    const readme = await readFile(new URL("README.md", root), "utf8");
    const blocks = [...readme.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)\n```/g)];
    expect(blocks.map((b) => b[1])).toEqual(["examples/kv.ts", "examples/txn.ts", "examples/errors.ts"]);
    for (const [, path, code] of blocks) {
      const file = await readFile(new URL(path!, root), "utf8");
      expect(code, path).toBe(file.replaceAll('"../src/index.js"', '"etcd-ts"').trimEnd());
    }
  });
});

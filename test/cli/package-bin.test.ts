import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const readJson = async <T>(file: string) => JSON.parse(await readFile(`${root}${file}`, "utf8")) as T;

// Builds nothing: checks that `npm run build` turns src/cli/main.ts into the executable the bin names.
describe("the etcd-ts bin", () => {
  it("names dist/cli/main.js, which the build compiles from src/cli/main.ts (with its shebang) and makes executable", async () => {
    const pkg = await readJson<{
      bin: Record<string, string>;
      files: string[];
      scripts: Record<string, string>;
    }>("package.json");
    const tsconfig = await readJson<{
      compilerOptions: { rootDir: string; outDir: string };
      include: string[];
    }>("tsconfig.build.json");
    const bin = pkg.bin["etcd-ts"]!;
    expect(bin).toBe("./dist/cli/main.js");
    const { rootDir, outDir } = tsconfig.compilerOptions;
    expect(tsconfig.include).toContain(rootDir);
    const source = bin.replace(`./${outDir}/`, `${rootDir}/`).replace(/\.js$/, ".ts");
    expect(source).toBe("src/cli/main.ts");
    expect((await stat(`${root}${source}`)).isFile()).toBe(true);
    expect((await readFile(`${root}${source}`, "utf8")).split("\n")[0]).toBe("#!/usr/bin/env node");
    expect(pkg.files).toContain(outDir);
    // The build compiles, then makes the bin executable (later steps, such as the web bundle, may follow).
    expect(pkg.scripts.build).toMatch(
      /tsc -p tsconfig\.build\.json && chmod \+x dist\/cli\/main\.js( && |$)/,
    );
  });
});

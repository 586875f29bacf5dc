import { describe, expect, it } from "vitest";
import { CLIENT_ENTRY_POINTS, FLOORS } from "./floors.js";
import {
  backDoorImports,
  circles,
  floorOf,
  folderGraph,
  type ImportGraph,
  importsOf,
  REPOSITORY_ROOT,
  readImportGraph,
  sourceFiles,
  upwardImports,
} from "./import-graph.js";

// The import graph of src/ (specs and generated code aside), read once: CI fails on a new circle, an
// import from a lower floor to a higher one, or a back door into the client. The floors are in floors.ts.
const files = sourceFiles(REPOSITORY_ROOT, "src", ["src/gen/"]);
const graph = readImportGraph(REPOSITORY_ROOT, files);

describe("the import graph of src/", () => {
  it("reads every source file and its imports", () => {
    expect(files).toContain("src/client/etcd.ts");
    expect(graph.get("src/index.ts")).toEqual(["src/client/index.ts"]);
  });

  it("puts every file on a floor", () => {
    expect(files.filter((f) => floorOf(f, FLOORS) < 0)).toEqual([]);
  });

  it("has no import from a lower floor to a higher one", () => {
    expect(upwardImports(graph, FLOORS)).toEqual([]);
  });

  it("has no circle between files", () => {
    expect(circles(graph)).toEqual([]);
  });

  it("has no circle between folders", () => {
    expect(circles(folderGraph(graph))).toEqual([]);
  });

  it("reaches the client from outside only through its entry points", () => {
    expect(backDoorImports(graph, Object.keys(CLIENT_ENTRY_POINTS))).toEqual([]);
  });

  it("names entry points that exist", () => {
    for (const entry of Object.keys(CLIENT_ENTRY_POINTS)) expect(files).toContain(entry);
  });
});

// The checks above pass on a clean graph; these show each one finds what it is there to find.
describe("the checks", () => {
  const g = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

  it("parse imports, type imports and re-exports, and nothing in comments or strings", () => {
    const text = [
      'import { a } from "./a.js";',
      'import type { B } from "../b.js";',
      'export { c } from "./sub/c.js";',
      'export * from "./d.js";',
      'import "node:fs";',
      '// import { e } from "./e.js";',
      "const s = \"import { f } from './f.js'\";",
    ].join("\n");
    expect(importsOf("src/client/kv/x.ts", text)).toEqual([
      "src/client/b.ts",
      "src/client/kv/a.ts",
      "src/client/kv/d.ts",
      "src/client/kv/sub/c.ts",
    ]);
  });

  it("find an import that goes up a floor", () => {
    const upward = g({ "src/client/core/errors.ts": ["src/client/etcd.ts"], "src/client/etcd.ts": [] });
    expect(upwardImports(upward, FLOORS)).toEqual([
      "src/client/core/errors.ts (core) imports src/client/etcd.ts (client)",
    ]);
  });

  it("find a circle and show its path", () => {
    const round = g({ "a.ts": ["b.ts"], "b.ts": ["c.ts"], "c.ts": ["a.ts", "d.ts"], "d.ts": [] });
    expect(circles(round)).toEqual(["a.ts -> b.ts -> c.ts -> a.ts"]);
    expect(circles(g({ "a.ts": ["a.ts"] }))).toEqual(["a.ts -> a.ts"]);
  });

  it("find two folders that import each other through different files", () => {
    const folders = folderGraph(
      g({ "src/client/kv/a.ts": ["src/client/txn/b.ts"], "src/client/txn/c.ts": ["src/client/kv/d.ts"] }),
    );
    expect(circles(folders)).toEqual(["src/client/kv -> src/client/txn -> src/client/kv"]);
  });

  it("find a back door into the client", () => {
    const back = g({ "src/discovery/x.ts": ["src/client/index.ts", "src/client/kv/key-value.ts"] });
    expect(backDoorImports(back, ["src/client/index.ts"])).toEqual([
      "src/discovery/x.ts imports src/client/kv/key-value.ts",
    ]);
  });
});

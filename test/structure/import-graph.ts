import { readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import type { Floor } from "./floors.js";

/** Files (repository-relative, `/`-separated) and the files each imports, relative imports only. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** Every `.ts` file under `dir` (relative to `root`), specs and `skip` folders aside. */
export function sourceFiles(root: string, dir: string, skip: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = posix.join(rel, entry.name);
      if (entry.isDirectory()) {
        if (!skip.includes(`${path}/`)) walk(path);
      } else if (path.endsWith(".ts") && !path.endsWith(".spec.ts") && !path.endsWith(".d.ts"))
        out.push(path);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * The relative modules `text` (the file `file`) imports or re-exports, type-only ones included (they
 * tie a file to another as much as a value does), resolved to repository paths: `./x.js` is `x.ts`.
 * Parsed by TypeScript, so comments and strings that look like imports do not count.
 */
export function importsOf(file: string, text: string): string[] {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  const out = new Set<string>();
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith(".")) continue;
    out.add(posix.normalize(posix.join(posix.dirname(file), fileName)).replace(/\.js$/, ".ts"));
  }
  return [...out].sort();
}

/** The import graph of `files`, read from disk under `root`. */
export function readImportGraph(root: string, files: readonly string[]): ImportGraph {
  return new Map(files.map((f) => [f, importsOf(f, readFileSync(join(root, f), "utf8"))]));
}

/** The index in `floors` of the floor holding `file` (the longest matching entry), or -1. */
export function floorOf(file: string, floors: readonly Floor[]): number {
  let best = -1;
  let bestLength = -1;
  floors.forEach((floor, i) => {
    for (const held of floor.holds) {
      const match = held.endsWith("/") ? file.startsWith(held) : file === held;
      if (match && held.length > bestLength) {
        best = i;
        bestLength = held.length;
      }
    }
  });
  return best;
}

/** One line per import that goes up: `a (floor) imports b (higher floor)`. */
export function upwardImports(graph: ImportGraph, floors: readonly Floor[]): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const own = floorOf(from, floors);
    for (const to of targets) {
      const theirs = floorOf(to, floors);
      if (own >= 0 && theirs > own)
        out.push(`${from} (${floors[own]!.name}) imports ${to} (${floors[theirs]!.name})`);
    }
  }
  return out;
}

/**
 * The circles of `graph`, one path per strongly connected component (`a -> b -> a`): Tarjan's
 * algorithm finds the components, a breadth-first search inside each gives the shortest circle through
 * its first node.
 */
export function circles(graph: ImportGraph): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const targets = (v: string) => graph.get(v) ?? [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of targets(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || targets(v).includes(v)) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components.map((component) => {
    const inside = new Set(component);
    const start = component[0]!;
    const from = new Map<string, string>();
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i]!;
      for (const w of targets(v)) {
        if (!inside.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let u: string | undefined = v; u !== undefined && u !== start; u = from.get(u))
            path.splice(1, 0, u);
          return [...path, start].join(" -> ");
        }
        if (!from.has(w)) {
          from.set(w, v);
          queue.push(w);
        }
      }
    }
    return component.join(" <-> ");
  });
}

/**
 * `graph` with each file replaced by its folder unit: a folder directly under `src/client/` or `src/`
 * (`src/client/kv`, `src/discovery`), or a file lying loose in one of those two (`src/client/etcd.ts`).
 * Imports inside one unit drop out; what is left shows which folders lean on which.
 */
export function folderGraph(graph: ImportGraph): ImportGraph {
  const unit = (file: string): string => {
    const parts = file.split("/");
    const depth = parts[1] === "client" ? 3 : 2;
    return parts.slice(0, Math.min(depth, parts.length)).join("/");
  };
  const out = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const a = unit(from);
    if (!out.has(a)) out.set(a, new Set());
    for (const to of targets) {
      const b = unit(to);
      if (a !== b && !b.startsWith("src/gen")) out.get(a)!.add(b);
    }
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

/**
 * Imports from outside `src/client/` into it that do not go through one of `entries`: one line each.
 */
export function backDoorImports(graph: ImportGraph, entries: readonly string[]): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    if (from.startsWith("src/client/")) continue;
    for (const to of targets)
      if (to.startsWith("src/client/") && !entries.includes(to)) out.push(`${from} imports ${to}`);
  }
  return out;
}

/** The repository root, from this file's place in it. */
export const REPOSITORY_ROOT = fileURLToPath(new URL("../..", import.meta.url));

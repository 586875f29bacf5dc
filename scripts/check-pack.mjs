// `npm run check:pack`: what `npm pack` would publish, checked for what a user reading the package needs.
// - README.md and every docs/*.md are in it;
// - every relative link or image in README.md and the shipped docs points at a file that is shipped too
//   (npmjs.com rewrites relative links to the `repository` on GitHub, but node_modules and unpkg have only
//   the tarball; repo-only files such as examples/ are linked with absolute URLs);
// - every source map's `sources` resolve to a shipped file (or carry their content inline);
// - no test or spec file is shipped;
// - typedoc.json documents the package's exports, no more and no less.
// Run after `npm run build` (the maps are read from dist/).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const root = join(dirname(new URL(import.meta.url).pathname), "..");
process.chdir(root);
if (!existsSync("dist/index.js")) {
  console.error("dist/ is missing: run 'npm run build' first");
  process.exit(1);
}

const [pack] = JSON.parse(
  execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }),
);
const shipped = new Set(pack.files.map((f) => f.path));
const problems = [];

// Docs travel with the package.
const docs = readdirSync("docs")
  .filter((f) => f.endsWith(".md"))
  .map((f) => `docs/${f}`);
for (const file of ["README.md", ...docs]) {
  if (!shipped.has(file)) problems.push(`${file} is not in the package (package.json "files")`);
}

// Relative links and images resolve inside the package.
const linkPattern = /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|<img\s[^>]*src="([^"]+)"/g;
let links = 0;
for (const file of ["README.md", ...[...shipped].filter((p) => p.startsWith("docs/") && p.endsWith(".md"))]) {
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
  for (const match of text.matchAll(linkPattern)) {
    const target = match[1] ?? match[2];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
    links++;
    const path = normalize(join(dirname(file), decodeURI(target.replace(/[?#].*$/, ""))));
    const isDir = [...shipped].some((p) => p.startsWith(`${path}/`));
    if (!shipped.has(path) && !isDir) {
      problems.push(
        `${file} links to ${target}, which is not in the package (ship it or link it absolutely)`,
      );
    }
  }
}

// Source maps resolve: a map whose sources are missing sends debuggers and editors nowhere.
let maps = 0;
for (const path of shipped) {
  if (!path.endsWith(".map")) continue;
  maps++;
  const map = JSON.parse(readFileSync(path, "utf8"));
  map.sources.forEach((source, i) => {
    const resolved = normalize(join(dirname(path), map.sourceRoot ?? "", source));
    if (!shipped.has(resolved) && typeof map.sourcesContent?.[i] !== "string") {
      problems.push(`${path}: source ${source} is not in the package and not inlined`);
    }
  });
}

// Tests stay home.
const testFile =
  /(^|\/)(test|tests|__tests__)\/|\.(spec|test)\.[cm]?[jt]sx?(\.map)?$|\.(spec|test)\.d\.[cm]?ts(\.map)?$/;
for (const path of shipped) {
  if (testFile.test(path)) problems.push(`${path} is a test file and should not be published`);
}

// The API reference covers what the exports map exposes.
const exportsMap = JSON.parse(readFileSync("package.json", "utf8")).exports;
const entryPoints = JSON.parse(readFileSync("typedoc.json", "utf8")).entryPoints;
const expected = Object.values(exportsMap)
  .filter((e) => typeof e === "object")
  .map((e) =>
    e.types
      .replace(/^\.\/dist\//, "src/")
      .replace(/\.d\.ts$/, ".ts")
      .replace("*", "**/*"),
  );
for (const entry of expected) {
  if (!entryPoints.includes(entry)) problems.push(`typedoc.json entryPoints lacks ${entry} (an export)`);
}
for (const entry of entryPoints) {
  if (!expected.includes(entry)) problems.push(`typedoc.json entry point ${entry} is not an export`);
}

if (problems.length > 0) {
  for (const p of problems) console.error(`check:pack: ${p}`);
  process.exit(1);
}
console.log(
  `check:pack: ${shipped.size} files (${(pack.size / 1024).toFixed(0)} kB packed); ${docs.length + 1} docs, ` +
    `${links} relative links and ${maps} source maps resolve inside the package; no test files`,
);

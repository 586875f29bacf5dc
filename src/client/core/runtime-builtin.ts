/**
 * A built-in module of the runtime, looked up without an import: `process.getBuiltinModule(id)` (Node >=
 * 20.16, Bun, Deno), or undefined where there is none (browsers, workerd). For `etcd-ts/web`, which may
 * not import a `node:` module but should still use what a Node-like runtime offers (its diagnostics
 * channels, its listener limits).
 */
export function runtimeBuiltin<T>(id: string): T | undefined {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return typeof process?.getBuiltinModule === "function"
    ? (process.getBuiltinModule(id) as T | undefined)
    : undefined;
}

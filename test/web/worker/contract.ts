/**
 * What test/web/workerd.test.ts and its Worker (worker.ts) share. Apart from the Worker's module: workerd
 * takes every named export of a Worker's main module for a handler.
 */

/** The key the Worker reads and watches. */
export const CONFIG_KEY = "wk/config/greeting";
/** The service the Worker registers as. */
export const SERVICE = "wk-worker";

/** One line of the Worker's `/run` answer (JSON, bigints as strings). */
export type WorkerLine = { readonly type: string } & Readonly<Record<string, unknown>>;

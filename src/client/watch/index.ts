/**
 * Watches: every watch of a client on one shared stream, resumed without loss or duplicates.
 * @packageDocumentation
 */
export { WatchCanceledError, WatchClosedError, WatchCompactedError, WatchHubClosedError } from "./errors.js";
export type { WatchBatch, WatchEvent, WatcherState, WatchFilter, WatchOptions } from "./types.js";
export { WatchHub, type WatchHubSettings } from "./watch-hub.js";
export { Watcher, type WatcherEvents, type WatcherOwner, type WatchResumeEvent } from "./watcher.js";

/**
 * Go's `client/v3/experimental/recipes` with Go's keys: barriers, double barriers, queues, priority
 * queues and readers-writer locks.
 * @packageDocumentation
 */
export { Barrier } from "./barrier.js";
export { DoubleBarrier } from "./double-barrier.js";
export { KeyExistsError, TooManyClientsError } from "./errors.js";
export { PriorityQueue } from "./priority-queue.js";
export { Queue } from "./queue.js";
export { RWMutex, type RWMutexState } from "./rw-mutex.js";
export type { RecipeWaitOptions } from "./waits.js";

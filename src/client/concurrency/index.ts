/**
 * Concurrency recipes on etcd, with Go's `client/v3/concurrency` keys and algorithms: sessions, locks,
 * elections and software transactional memory; and Go's `experimental/recipes`: barriers, queues and
 * readers-writer locks.
 * @packageDocumentation
 */
export { Election, type ElectionState } from "./election.js";
export { ElectionNotLeaderError, LockLostError, SessionExpiredError } from "./errors.js";
export type { HolderEvents } from "./holder.js";
export { type LockOptions, Mutex, type MutexState } from "./mutex.js";
export {
  Barrier,
  DoubleBarrier,
  KeyExistsError,
  PriorityQueue,
  Queue,
  type RecipeWaitOptions,
  RWMutex,
  type RWMutexState,
  TooManyClientsError,
} from "./recipes/index.js";
export { Session, type SessionEvents, type SessionOptions, type SessionState } from "./session.js";
export {
  type Isolation,
  runStm,
  type Stm,
  StmConflictError,
  type StmOptions,
  type StmResult,
} from "./stm.js";

/**
 * Concurrency recipes on etcd, with Go's `client/v3/concurrency` keys and algorithms: sessions, locks,
 * elections and software transactional memory.
 * @packageDocumentation
 */
export { Election } from "./election.js";
export { ElectionNotLeaderError, LockLostError, SessionExpiredError } from "./errors.js";
export { type LockOptions, Mutex } from "./mutex.js";
export { Session, type SessionOptions } from "./session.js";
export {
  type Isolation,
  runStm,
  type Stm,
  StmConflictError,
  type StmOptions,
  type StmResult,
} from "./stm.js";

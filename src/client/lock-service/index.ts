/**
 * etcd's server-side Lock and Election services (`v3lockpb`, `v3electionpb`): thin, typed clients on
 * `etcd.lockService` and `etcd.electionService`.
 * @packageDocumentation
 */
export { type CampaignOptions, ElectionService } from "./election-service.js";
export type { LeaseRef } from "./inputs.js";
export { LockService, type ServerLockOptions } from "./lock-service.js";
export type { ObserveOptions } from "./observe.js";
export type { LeaderKey, Leadership, ServerLock } from "./types.js";

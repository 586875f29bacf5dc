/**
 * Leases: grant / revoke / time-to-live / list, and {@link Lease} objects kept alive on one shared stream.
 * @packageDocumentation
 */
export { LeaseLostError, type LeaseLostReason, LeasesClosedError } from "./errors.js";
export { KeptLease, type KeptLeaseOwner } from "./kept-lease.js";
export {
  Lease,
  type LeaseEvents,
  type LeaseKeepAliveEvent,
  type LeaseLostEvent,
  type LeaseOwner,
  type LeaseState,
} from "./lease.js";
export { LeaseKeeper, type LeaseKeeperSettings } from "./lease-keeper.js";
export { type GrantOptions, Leases, type LeaseTimeToLive } from "./leases.js";

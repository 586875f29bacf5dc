export {
  type LeasingEvents,
  type LeasingGetOptions,
  LeasingKv,
  type LeasingOptions,
  type LeasingState,
  REVOKE_MARKER,
} from "./leasing-kv.js";
export { LeasingTxn } from "./leasing-txn.js";

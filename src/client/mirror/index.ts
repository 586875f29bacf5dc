/**
 * Mirrors: a prefix read at one revision in pages, then followed change by change (`etcd.mirror(prefix)`),
 * to copy it to another cluster.
 * @packageDocumentation
 */
export { Mirror } from "./mirror.js";
export type {
  MirrorBase,
  MirrorBatch,
  MirrorChanges,
  MirrorEvents,
  MirrorOptions,
  MirrorState,
  MirrorSynced,
} from "./types.js";

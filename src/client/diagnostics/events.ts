import type { EtcdError } from "../core/errors.js";

// The payloads of etcd-ts's diagnostics channels (see channels.ts for the names). Public API: plain
// objects, never a request or response message, a header, a password or a token. The events of one
// room live with it: `WatchResumeEvent` in watch/watcher.ts, `LeaseLostEvent` in lease/lease.ts.

/**
 * One attempt of a unary call on one endpoint (`etcd-ts:call:start`, then `etcd-ts:call:end` or
 * `etcd-ts:call:error`). The SAME object is published at start and at its end or error, so a subscriber
 * can keep per-attempt state in a `WeakMap` keyed by it (as `node:diagnostics_channel`'s tracing
 * channels do).
 */
export interface CallEvent {
  /** The gRPC method's full name, e.g. `etcdserverpb.KV/Put`. */
  readonly method: string;
  /** The service, e.g. `etcdserverpb.KV`. */
  readonly service: string;
  /** The method's short name, e.g. `Put`. */
  readonly rpcMethod: string;
  /** The endpoint URL the attempt goes to, e.g. `http://127.0.0.1:2379`. */
  readonly endpoint: string;
  /** 1 for the first attempt of the call, 2 for its first retry, and so on. */
  readonly attempt: number;
  /** Why this attempt runs: the previous attempt's error message; undefined on the first attempt. */
  readonly retryReason: string | undefined;
  /** Set before `etcd-ts:call:error` is published: the attempt's typed error. */
  error?: EtcdError | undefined;
}

/** An attempt that failed (`etcd-ts:call:error`). */
export interface CallErrorEvent extends CallEvent {
  /** The attempt's typed error (the call may still succeed on a retry). */
  error: EtcdError;
}

/** An endpoint was marked failed and later calls and streams move on (`etcd-ts:endpoint:failed`). */
export interface EndpointFailedEvent {
  /** The endpoint that failed. */
  readonly endpoint: string;
  /** What failed on it. */
  readonly error: Error;
  /** The endpoint the next call or stream goes to (the same one when it is the only endpoint). */
  readonly next: string;
}

/**
 * The client obtained an auth token (`etcd-ts:auth:token`) or failed to (`etcd-ts:auth:error`): the
 * token itself is never in the event.
 */
export interface AuthTokenEvent {
  /** The endpoint `Authenticate` went to (for `getToken`, the endpoint of the call that needed it). */
  readonly endpoint: string;
  /** Where tokens come from: `Authenticate` with `auth.username`/`password`, or `auth.getToken`. */
  readonly source: "password" | "getToken";
  /**
   * Why a token was needed: `"initial"` (none was ever held), `"refresh"` (the server refused the last
   * one: it expired, its member restarted, or the auth store changed).
   */
  readonly reason: "initial" | "refresh";
}

/** Obtaining a token failed (`etcd-ts:auth:error`). */
export interface AuthErrorEvent extends AuthTokenEvent {
  /** The typed error (`AuthFailedError` for wrong credentials, `GetTokenError`, a transport error...). */
  readonly error: EtcdError;
}

/**
 * One stream of the client's long-lived streams (the shared `Watch` and `LeaseKeepAlive` streams): opened
 * (`etcd-ts:stream:open`) and over (`etcd-ts:stream:close`). The same object is published on both; a
 * stream that failed to open is published on `etcd-ts:stream:close` only, with `opened: false`.
 */
export interface StreamEvent {
  /** The gRPC method's full name: `etcdserverpb.Watch/Watch` or `etcdserverpb.Lease/LeaseKeepAlive`. */
  readonly method: string;
  /** The endpoint the stream is on. */
  readonly endpoint: string;
  /** True once the stream opened. */
  opened: boolean;
  /**
   * Set before `etcd-ts:stream:close` is published. `"closed"`: the client (or the stream's owner)
   * closed it; `"idle"`: nothing left to keep it open for; `"reauthenticate"`: the server refused its
   * token, a stream with a fresh token opens at once; `"failed"`: it broke or stopped answering, its
   * endpoint is marked failed and a stream opens after backoff; `"fatal"`: no stream can work (wrong
   * credentials, a refused fixed token), the work on it ended with `error`.
   */
  reason?: StreamCloseReason | undefined;
  /** Set with `reason` `"failed"` or `"fatal"`: what ended it. */
  error?: Error | undefined;
}

/** Why a stream ended, see {@link StreamEvent.reason}. */
export type StreamCloseReason = "closed" | "idle" | "reauthenticate" | "failed" | "fatal";

/** A registration (`register()` of `etcd-ts/discovery`) is registered (`etcd-ts:registration:registered`). */
export interface RegistrationRegisteredEvent {
  /** The instance's key. */
  readonly key: string;
  /** The lease it is registered under. */
  readonly leaseId: bigint;
  /** False for the first registration, true after a loss. */
  readonly reregistered: boolean;
}

/** A registration lost its key or lease and re-registers (`etcd-ts:registration:lost`). */
export interface RegistrationLostEvent {
  /** The instance's key. */
  readonly key: string;
  /** The lease it was registered under. */
  readonly leaseId: bigint | undefined;
  /** Why: `"lease-lost"`, `"key-deleted"` or `"key-replaced"`. */
  readonly reason: string;
  /** The error (also emitted as the registration's `lost` event). */
  readonly error: Error;
}

/** A periodic endpoint sync (`autoSyncIntervalMs`) failed; the endpoint list is kept (`etcd-ts:autosync:error`). */
export interface AutoSyncErrorEvent {
  /** The endpoints in use, kept. */
  readonly endpoints: readonly string[];
  /** Why the sync failed. */
  readonly error: Error;
}

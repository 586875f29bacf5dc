import { type Channel, channel } from "node:diagnostics_channel";
import type { DescMethod } from "@bufbuild/protobuf";

/**
 * The names of etcd-ts's `node:diagnostics_channel` channels (public API, see docs/observability.md):
 * `etcd-ts:<subject>:<what happened>`. Subscribe with `diagnostics_channel.subscribe(name, fn)`; the
 * payload types are in events.ts. Nothing is built or published while a channel has no subscriber.
 */
export const diagnosticsChannels = {
  /** {@link CallEvent}: an attempt of a unary call starts. */
  callStart: "etcd-ts:call:start",
  /** {@link CallEvent}: the attempt succeeded. */
  callEnd: "etcd-ts:call:end",
  /** {@link CallErrorEvent}: the attempt failed (the call may be retried). */
  callError: "etcd-ts:call:error",
  /** {@link EndpointFailedEvent}: an endpoint was marked failed; the next is picked. */
  endpointFailed: "etcd-ts:endpoint:failed",
  /** {@link AuthTokenEvent}: a token was obtained (first one, or a refresh). */
  authToken: "etcd-ts:auth:token",
  /** {@link AuthErrorEvent}: obtaining a token failed. */
  authError: "etcd-ts:auth:error",
  /** {@link StreamEvent}: a Watch or LeaseKeepAlive stream opened. */
  streamOpen: "etcd-ts:stream:open",
  /** {@link StreamEvent}: the stream is over (`reason` says why). */
  streamClose: "etcd-ts:stream:close",
  /** {@link WatchResumeEvent}: a watch was re-created from its resume point. */
  watchResume: "etcd-ts:watch:resume",
  /** {@link LeaseLostEvent}: a kept-alive lease is lost. */
  leaseLost: "etcd-ts:lease:lost",
  /** {@link RegistrationRegisteredEvent}: a registration is registered (first time or again). */
  registrationRegistered: "etcd-ts:registration:registered",
  /** {@link RegistrationLostEvent}: a registration was lost; it re-registers. */
  registrationLost: "etcd-ts:registration:lost",
  /** {@link AutoSyncErrorEvent}: a periodic endpoint sync failed. */
  autoSyncError: "etcd-ts:autosync:error",
} as const;

/** One of {@link diagnosticsChannels}' names. */
export type DiagnosticsChannelName = (typeof diagnosticsChannels)[keyof typeof diagnosticsChannels];

/**
 * @internal The channels themselves. `channel(name)` returns the process-wide channel of that name (the
 * same object whichever copy of etcd-ts asks), so these are handles, not state of their own.
 */
export const channels: { readonly [K in keyof typeof diagnosticsChannels]: Channel } = Object.freeze(
  Object.fromEntries(Object.entries(diagnosticsChannels).map(([key, name]) => [key, channel(name)])) as {
    [K in keyof typeof diagnosticsChannels]: Channel;
  },
);

/** @internal The fields of a call or stream event that name its method. */
export function methodNames(method: DescMethod): { method: string; service: string; rpcMethod: string } {
  const service = method.parent.typeName;
  return { method: `${service}/${method.name}`, service, rpcMethod: method.name };
}

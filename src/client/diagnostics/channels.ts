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
 * @internal What etcd-ts needs of one channel: Node's `diagnostics_channel` `Channel` has it, and so does
 * the silent channel of a runtime without that module.
 */
export interface DiagnosticsChannel {
  /** True while anyone is subscribed: nothing is built for an event nobody hears. */
  readonly hasSubscribers: boolean;
  /** Hands `message` to every subscriber, synchronously. */
  publish(message: unknown): void;
}

/**
 * @internal The channels themselves, one per name of {@link diagnosticsChannels}. Which implementation is
 * the platform's (`src/client/platform/`): `node:diagnostics_channel` on `etcd-ts`; on `etcd-ts/web` the
 * runtime's own module when it has one, else silent channels.
 */
export type DiagnosticsChannels = { readonly [K in keyof typeof diagnosticsChannels]: DiagnosticsChannel };

/**
 * @internal The channels of {@link diagnosticsChannels}' names, each made by `channel(name)`. A runtime's
 * `channel(name)` returns the process-wide channel of that name (the same object whichever copy of etcd-ts
 * asks), so these are handles, not state of their own.
 */
export function channelsOf(channel: (name: string) => DiagnosticsChannel): DiagnosticsChannels {
  return Object.freeze(
    Object.fromEntries(Object.entries(diagnosticsChannels).map(([key, name]) => [key, channel(name)])),
  ) as DiagnosticsChannels;
}

const SILENT_CHANNEL: DiagnosticsChannel = Object.freeze({ hasSubscribers: false, publish() {} });

/** @internal Channels nobody can subscribe to: what a runtime without `diagnostics_channel` publishes on. */
export const SILENT_CHANNELS: DiagnosticsChannels = channelsOf(() => SILENT_CHANNEL);

/** @internal The fields of a call or stream event that name its method. */
export function methodNames(method: DescMethod): { method: string; service: string; rpcMethod: string } {
  const service = method.parent.typeName;
  return { method: `${service}/${method.name}`, service, rpcMethod: method.name };
}

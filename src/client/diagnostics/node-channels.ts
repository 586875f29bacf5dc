import { channel } from "node:diagnostics_channel";
import { channelsOf, type DiagnosticsChannels } from "./channels.js";

/** @internal The channels of `etcd-ts` on Node (and Bun, Deno): `node:diagnostics_channel`'s. */
export const NODE_CHANNELS: DiagnosticsChannels = channelsOf(channel);

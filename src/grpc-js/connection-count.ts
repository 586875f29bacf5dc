import { type ChannelInterface, connectivityState } from "@grpc/grpc-js";

/**
 * Counts the times a grpc-js channel became READY: each is a new connection (grpc-js reconnects by
 * itself, so this is how the transport can tell the client that the server behind it may have changed).
 * It follows the channel's state changes without timers and stops when the channel shuts down.
 */
export class ReadyCounter {
  #count = 0;

  constructor(channel: ChannelInterface) {
    this.#watch(channel, channel.getConnectivityState(false));
  }

  /** How many times the channel became READY so far. */
  get count(): number {
    return this.#count;
  }

  #watch(channel: ChannelInterface, state: connectivityState): void {
    if (state === connectivityState.SHUTDOWN) return;
    try {
      channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, (error) => {
        if (error) return;
        const next = channel.getConnectivityState(false);
        if (next === connectivityState.READY) this.#count++;
        this.#watch(channel, next);
      });
    } catch {
      // The channel shut down meanwhile: nothing more to count.
    }
  }
}

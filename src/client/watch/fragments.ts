import type { WatchResponse } from "../../gen/etcdserverpb/rpc_pb.js";

/**
 * Reassembles fragmented watch responses (`fragment: true` on every piece but the last, all with the same
 * watch id and header): returns the whole response once its last piece arrived, undefined before.
 */
export class FragmentAssembler {
  readonly #pending = new Map<bigint, WatchResponse>();

  /** Feeds one response; returns a complete response (possibly this one) or undefined while incomplete. */
  accept(response: WatchResponse): WatchResponse | undefined {
    const pending = this.#pending.get(response.watchId);
    if (response.fragment) {
      if (pending) pending.events.push(...response.events);
      else this.#pending.set(response.watchId, { ...response, events: [...response.events] });
      return undefined;
    }
    if (!pending) return response;
    this.#pending.delete(response.watchId);
    return { ...response, events: [...pending.events, ...response.events] };
  }

  /** Forgets a watch's partial response (it was canceled). */
  drop(watchId: bigint): void {
    this.#pending.delete(watchId);
  }
}

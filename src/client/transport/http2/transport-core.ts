import type { DeadlineQueue } from "./deadline-queue.js";
import type { Http2Endpoint } from "./endpoint.js";
import type { ResolvedHttp2Options } from "./options.js";
import type { StreamSlots } from "./stream-slots.js";

/** What every call of a transport shares: its options, its sessions, its stream slots and its deadline timer. */
export interface TransportCore {
  readonly options: ResolvedHttp2Options;
  readonly endpoint: Http2Endpoint;
  readonly slots: StreamSlots;
  readonly deadlines: DeadlineQueue;
}

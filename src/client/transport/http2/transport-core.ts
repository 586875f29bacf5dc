import type { DeadlineQueue } from "../../core/deadline-queue.js";
import type { Http2Endpoint } from "./endpoint.js";
import type { ResolvedHttp2Options } from "./options.js";
import type { RequestHeaderCache } from "./request-headers.js";
import type { StreamSlots } from "./stream-slots.js";

/** What every call of a transport shares: options, sessions, stream slots, headers, deadline timer. */
export interface TransportCore {
  readonly options: ResolvedHttp2Options;
  readonly endpoint: Http2Endpoint;
  readonly slots: StreamSlots;
  readonly requestHeaders: RequestHeaderCache;
  readonly deadlines: DeadlineQueue;
}

import type { ClientHttp2Stream } from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { abortError, closedError, deadlineError, openError } from "./call-outcome.js";
import type { Http2Connection } from "./connection.js";
import type { DeadlineHandle, DeadlineTarget } from "./deadline-queue.js";
import type { SlotWaiter } from "./stream-slots.js";
import type { TransportCore } from "./transport-core.js";

/** A call as its start-up sees it: it waits for a slot, listens to its signal and has a deadline. */
export interface StartingCall extends SlotWaiter, DeadlineTarget, EventListenerObject {}

/**
 * The first step shared by unary and streaming calls: listen to `signal` and add the deadline to the
 * transport's queue. Returns the deadline's handle (undefined without a deadline), or calls `fail` (with
 * a not-sent error) and returns `false` when the call ends before it starts. The caller stores the
 * handle (its cleanup removes it from `core.deadlines`), then calls {@link takeSlot}.
 */
export function armCall(
  core: TransportCore,
  call: StartingCall,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  fail: (error: ConnectError) => void,
): DeadlineHandle | undefined | false {
  if (signal !== undefined) {
    if (signal.aborted) {
      fail(abortError(signal, true));
      return false;
    }
    signal.addEventListener("abort", call);
  }
  if (timeoutMs === undefined) return undefined;
  if (timeoutMs <= 0) {
    fail(deadlineError(true));
    return false;
  }
  return core.deadlines.add(call, timeoutMs);
}

/** Takes a stream slot (calling `call.onSlot()` at once) or queues the call for one. */
export function takeSlot(core: TransportCore, call: SlotWaiter): void {
  if (core.slots.tryAcquire()) call.onSlot();
  else core.slots.enqueue(call);
}

/**
 * Opens the HTTP/2 stream of a call that got its slot, on the endpoint's current connection. On failure
 * (transport closed, dead session, bad header) the slot is released and the not-sent error returned.
 */
export function openCallStream(
  core: TransportCore,
  method: DescMethod,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
): { connection: Http2Connection; stream: ClientHttp2Stream } | ConnectError {
  if (core.endpoint.closed) {
    core.slots.release();
    return closedError(true);
  }
  try {
    const connection = core.endpoint.connection();
    const headers = core.requestHeaders.get(method, timeoutMs, header);
    return { connection, stream: connection.open(headers) };
  } catch (err) {
    core.slots.release();
    return openError(err);
  }
}

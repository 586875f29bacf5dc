import type { ClientHttp2Stream } from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import type { DeadlineHandle, DeadlineTarget } from "../../core/deadline-queue.js";
import type { HeadersInit } from "../headers-init.js";
import { abortError, closedError, deadlineError, openError } from "./call-outcome.js";
import type { Http2Connection, ReadyWaiter } from "./connection.js";
import type { SlotWaiter } from "./stream-slots.js";
import type { TransportCore } from "./transport-core.js";

/**
 * A call as its start-up sees it: it waits for a slot, then for a ready connection, listens to its
 * signal and has a deadline.
 */
export interface StartingCall extends SlotWaiter, ReadyWaiter, DeadlineTarget {
  /** The abort listener of the call's signal (a DOM `EventListenerObject`, which @types/node does not export). */
  handleEvent(event: Event): void;
}

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
 * The endpoint's current connection for a call that got its slot. The call opens its stream at once if
 * the connection is `ready`, else it waits with `connection.whenReady(call)`. On failure (transport
 * closed, session not creatable) the slot is released and the not-sent error returned.
 */
export function callConnection(core: TransportCore): Http2Connection | ConnectError {
  if (core.endpoint.closed) {
    core.slots.release();
    return closedError(true);
  }
  try {
    return core.endpoint.connection();
  } catch (err) {
    core.slots.release();
    return openError(err);
  }
}

/**
 * Opens the HTTP/2 stream of a call on its ready connection. On failure (dead session, bad header) the
 * slot is released and the not-sent error returned.
 */
export function openCallStream(
  core: TransportCore,
  connection: Http2Connection,
  method: DescMethod,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
): ClientHttp2Stream | ConnectError {
  try {
    return connection.open(core.requestHeaders.get(method, timeoutMs, header));
  } catch (err) {
    core.slots.release();
    return openError(err);
  }
}

/**
 * Takes a call that has no stream yet out of whichever queue holds it, the wait for a ready connection
 * (giving its slot back) or the wait for a slot.
 */
export function withdrawCall(
  core: TransportCore,
  call: StartingCall,
  connection: Http2Connection | undefined,
): void {
  if (connection?.cancelWait(call)) core.slots.release();
  else core.slots.remove(call);
}

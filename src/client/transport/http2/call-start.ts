import { constants } from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import type { DeadlineHandle, DeadlineTarget } from "../../core/deadline-queue.js";
import type { HeadersInit } from "../headers-init.js";
import { abortError, closedError, deadlineError, openError } from "./call-outcome.js";
import type { Http2Connection, ReadyWaiter } from "./connection.js";
import type { GrpcStream } from "./grpc-session.js";
import type { SlotWaiter } from "./stream-slots.js";
import type { TransportCore } from "./transport-core.js";

/**
 * A call as its start-up sees it: it waits for a slot, then for a ready connection, listens to its
 * signal and has a deadline.
 */
interface StartingCall extends SlotWaiter, ReadyWaiter, DeadlineTarget {
  /** The abort listener of the call's signal (a DOM `EventListenerObject`, which @types/node does not export). */
  handleEvent(event: Event): void;
}

/**
 * The first step shared by unary and streaming calls: listen to `signal` and add the deadline to the
 * transport's queue. Returns the deadline's handle (undefined without a deadline), or calls `fail` (with
 * a not-sent error) and returns `false` when the call ends before it starts. The caller stores the
 * handle (its cleanup removes it from `core.deadlines`), then calls {@link takeSlot}.
 */
function armCall(
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
function takeSlot(core: TransportCore, call: SlotWaiter): void {
  if (core.slots.tryAcquire()) call.onSlot();
  else core.slots.enqueue(call);
}

/**
 * The endpoint's current connection for a call that got its slot. The call opens its stream at once if
 * the connection is `ready`, else it waits with `connection.whenReady(call)`. On failure (transport
 * closed, session not creatable) the slot is released and the not-sent error returned.
 */
function callConnection(core: TransportCore): Http2Connection | ConnectError {
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
function openCallStream(
  core: TransportCore,
  connection: Http2Connection,
  method: DescMethod,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
): GrpcStream | ConnectError {
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
function withdrawCall(
  core: TransportCore,
  call: StartingCall,
  connection: Http2Connection | undefined,
): void {
  if (connection?.cancelWait(call)) core.slots.release();
  else core.slots.remove(call);
}

/**
 * What a unary call and a stream call share from `start()` until their stream is open, and how either is
 * cancelled: the abort listener and the deadline armed, a stream slot taken, the connection awaited, the
 * stream opened; an abort or the deadline withdraws a call that has no stream yet or resets its stream.
 * A subclass says how the call ends ({@link fail}, once, after which {@link over} is true) and what it
 * does with its open stream ({@link opened}).
 */
export abstract class OpeningCall<M extends DescMethod = DescMethod> implements StartingCall {
  protected readonly core: TransportCore;
  protected readonly method: M;
  protected readonly signal: AbortSignal | undefined;
  protected readonly timeoutMs: number | undefined;
  protected readonly header: HeadersInit | undefined;
  protected deadline: DeadlineHandle | undefined;
  protected connection: Http2Connection | undefined;
  protected stream: GrpcStream | undefined;
  /** The call has ended: settled, finished or cancelled. */
  protected over = false;

  constructor(
    core: TransportCore,
    method: M,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
  ) {
    this.core = core;
    this.method = method;
    this.signal = signal;
    this.timeoutMs = timeoutMs;
    this.header = header;
  }

  /** Arms the abort listener and deadline, then opens the stream (or queues for a free one). */
  start(): void {
    const deadline = armCall(this.core, this, this.signal, this.timeoutMs, (error) => this.fail(error));
    if (deadline === false) return;
    this.deadline = deadline;
    takeSlot(this.core, this);
  }

  /** @internal SlotWaiter: a stream may be opened now, once the connection is ready. */
  onSlot(): void {
    const connection = callConnection(this.core);
    if (connection instanceof ConnectError) {
      this.fail(connection);
      return;
    }
    this.connection = connection;
    if (connection.ready) this.onReady();
    else connection.whenReady(this);
  }

  /** @internal ReadyWaiter: the connection failed before the request could be sent. */
  onConnectFailed(error: ConnectError): void {
    this.core.slots.release();
    this.fail(error);
  }

  /** @internal ReadyWaiter: open the stream and hand it to the call. */
  onReady(): void {
    const opened = openCallStream(this.core, this.connection!, this.method, this.timeoutMs, this.header);
    if (opened instanceof ConnectError) {
      this.fail(opened);
      return;
    }
    this.stream = opened;
    this.opened(opened);
  }

  /** @internal The AbortSignal fired. */
  handleEvent(): void {
    this.cancel(abortError(this.signal!, this.notSent()));
  }

  /** @internal DeadlineTarget: the deadline passed. */
  onDeadline(): void {
    this.deadline = undefined;
    this.cancel(deadlineError(this.notSent()));
  }

  /** Streams are opened on ready connections only, so a call with a stream may have sent its request. */
  protected notSent(): boolean {
    return this.stream === undefined;
  }

  /** Withdraws the call from its wait, or resets its stream (CANCEL), then ends it with `error`. */
  protected cancel(error: ConnectError): void {
    if (this.over) return;
    const stream = this.stream;
    if (stream === undefined) withdrawCall(this.core, this, this.connection);
    else if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    this.cancelled();
    this.fail(error);
  }

  /** Takes the listener and the deadline off: part of every end. */
  protected release(): void {
    if (this.deadline !== undefined) this.core.deadlines.remove(this.deadline);
    this.signal?.removeEventListener("abort", this);
  }

  /** Called by {@link cancel} before {@link fail}: what a cancel drops beyond an ordinary end. */
  protected cancelled(): void {}

  /** Ends the call with `error` unless it is already over. */
  protected abstract fail(error: ConnectError): void;

  /** The call's stream is open: attach listeners, send the request. */
  protected abstract opened(stream: GrpcStream): void;
}

/**
 * Two shortcuts between etcd-ts's stream owners and its HTTP/2 transport, each optional: a source that
 * lacks one is read with `next()` as before (other transports, a user's interceptors). Read through
 * `for await` alone, each message costs a few promises and result objects: at 10,000 kept leases that
 * was most of the client's garbage.
 */

/**
 * A request stream that can hand over, without waiting, the messages it already holds (the request
 * queue of a resilient stream): after one `next()` the transport takes the rest, and writes them all as
 * one HTTP/2 write (keepalives that came due together, the creates of every watch on a new stream).
 */
export interface BufferedMessages<T> {
  /**
   * The oldest message already held, removed from the source; undefined when none is held (then wait
   * with `next()`). Never ends or fails the source: its end and errors still come through `next()`.
   */
  takeBuffered(): T | undefined;
}

/** `source` as a {@link BufferedMessages} when it is one, else undefined. */
export function bufferedMessages<T>(source: object): BufferedMessages<T> | undefined {
  return typeof (source as Partial<BufferedMessages<T>>).takeBuffered === "function"
    ? (source as BufferedMessages<T>)
    : undefined;
}

/**
 * A response stream that can call a function with each message as it arrives (an HTTP/2 stream call),
 * for an owner that handles every message synchronously anyway (a resilient stream).
 */
export interface PushedMessages<T> {
  /**
   * From now on `onMessage` gets every message, first those already received, synchronously and in
   * order; `next()` then only reports the end (done) or the call's error. A throw from `onMessage`
   * fails the call.
   */
  deliverTo(onMessage: (message: T) => void): void;
}

/** `source` as a {@link PushedMessages} when it is one, else undefined. */
export function pushedMessages<T>(source: object): PushedMessages<T> | undefined {
  return typeof (source as Partial<PushedMessages<T>>).deliverTo === "function"
    ? (source as PushedMessages<T>)
    : undefined;
}

/**
 * A stream of messages that can also hand over, without waiting, the messages it already holds: the
 * request queue of a resilient stream, the response queue of an HTTP/2 stream call. Read through
 * `for await` alone, each message costs a few promises and result objects; a burst of keepalives or
 * watch responses that came together is taken in one go instead: after one `next()`, the rest with
 * {@link takeBuffered}, and the requests are written as one HTTP/2 write. Sources that lack the method
 * are read with `next()` only, as before.
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

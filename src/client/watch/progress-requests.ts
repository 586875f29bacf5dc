/** Where a {@link ProgressRequests} sends its requests: the watch hub's open stream. */
export interface ProgressHost {
  /**
   * Sends a progress request if the stream can take one now (it is open and no watch create is in flight,
   * so every watch being created is answered for too); false when it cannot.
   */
  trySend(): boolean;
}

/**
 * The client's outstanding progress request on the Watch stream, asked again until answered. etcd 3.4.31+,
 * 3.5.13+, 3.6 and 3.7 drop a progress request while any watcher of the stream is still catching up
 * (etcd commit 6103504d4: "client needs to request progress notification again"); 3.4.24 to 3.4.30 and
 * 3.5.8 to 3.5.12 defer the answer; 3.4.23 answers at once. So one request is kept: sent when the stream
 * can take it, sent again every `reaskMs` while unanswered (on whichever stream is open: a request lost
 * with a broken stream is asked again on the next), and done with the first answer. Requests made while
 * one is outstanding share its answer; a request sent twice may be answered twice.
 */
export class ProgressRequests {
  readonly #host: ProgressHost;
  readonly #reaskMs: number;
  #wanted = false;
  /** Sent on the open stream and not answered yet. */
  #sent = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(host: ProgressHost, reaskMs: number) {
    this.#host = host;
    this.#reaskMs = reaskMs;
  }

  /** True while a request waits for its answer. */
  get wanted(): boolean {
    return this.#wanted;
  }

  /** A caller wants a progress notice: send a request unless one is on its way. */
  request(): void {
    this.#wanted = true;
    if (!this.#sent) this.#sent = this.#host.trySend();
    if (this.#timer === undefined) {
      // Unref'd: the watches, not an unanswered request, hold the process.
      this.#timer = setInterval(() => {
        if (this.#wanted) this.#sent = this.#host.trySend();
      }, this.#reaskMs);
      this.#timer.unref?.();
    }
  }

  /** The stream can take a request now (it opened, or its creates were answered): send one if owed. */
  ready(): void {
    if (this.#wanted && !this.#sent) this.#sent = this.#host.trySend();
  }

  /** The stream ended: what was sent on it will not be answered. */
  ended(): void {
    this.#sent = false;
  }

  /** A progress notice came: the request is done. */
  answered(): void {
    this.cancel();
  }

  /** Nothing is owed any more (answered, or no watch left to answer for). */
  cancel(): void {
    this.#wanted = false;
    this.#sent = false;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

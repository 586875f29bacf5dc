import type { Client } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import type { Greeter } from "./gen/helloworld/helloworld_pb.js";

/** One SayHello call of the loop: who answered it, or why it failed. */
export interface CallRecord {
  n: number;
  /** The demo phase it started in. */
  phase: string;
  /** `impl@addr` of the server that answered, read from the reply. */
  answeredBy?: string;
  error?: string;
}

/** Options of {@link CallLoop}. */
export interface CallLoopOptions {
  /** Pause between the starts of two calls. Default 100. */
  intervalMs?: number;
  /** Deadline of each call. Default 2000. */
  timeoutMs?: number;
  /** Where each call's line goes. Default `console.log`. */
  log?: (line: string) => void;
}

/** Calls SayHello one call at a time, every `intervalMs`, until stopped; prints and records each call. */
export class CallLoop {
  /** Every call made, in order. */
  readonly records: CallRecord[] = [];
  /** The phase new calls are recorded under. */
  phase = "";
  readonly #client: Client<typeof Greeter>;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #log: (line: string) => void;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(client: Client<typeof Greeter>, options: CallLoopOptions = {}) {
    this.#client = client;
    this.#intervalMs = options.intervalMs ?? 100;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#log = options.log ?? console.log;
  }

  /** Starts calling in the background. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops after the call in flight (if any) and waits for it. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  /**
   * Waits until `count` more calls have been answered, at most `timeoutMs`. The demo's phases last a
   * number of calls rather than a time, so a slow machine makes them longer, not emptier.
   */
  async moreAnswers(count: number, timeoutMs = 30_000): Promise<void> {
    const answered = () => this.records.filter((r) => r.answeredBy).length;
    const target = answered() + count;
    const deadline = Date.now() + timeoutMs;
    while (answered() < target) {
      if (Date.now() > deadline) throw new Error(`fewer than ${count} answers within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits until a call is answered by `who` (an `impl@addr`), at most `timeoutMs`. */
  async answeredBy(who: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.records.some((r) => r.answeredBy === who)) {
      if (Date.now() > deadline) throw new Error(`no answer from ${who} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const started = Date.now();
      const record: CallRecord = { n: this.records.length + 1, phase: this.phase };
      this.records.push(record);
      try {
        const reply = await this.#client.sayHello({ name: "demo" }, { timeoutMs: this.#timeoutMs });
        record.answeredBy = reply.message.slice(reply.message.lastIndexOf(" from ") + " from ".length);
        this.#log(`#${record.n} ${reply.message}`);
      } catch (err) {
        record.error = ConnectError.from(err).message;
        this.#log(`#${record.n} FAILED: ${record.error}`);
      }
      const wait = started + this.#intervalMs - Date.now();
      if (wait > 0) await sleep(wait, signal);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
